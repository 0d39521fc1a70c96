"""gan-zoo's verbs about the shipped presets: list, card and cards (regenerate the Markdown cards)."""
import fnmatch
import json
import os

PRESETS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "presets")


def add_list(subparsers):
    parser = subparsers.add_parser("list", help="the pretrained models shipped with the package")
    parser.add_argument("pattern", nargs="?", default="*", help="shell-style filter, e.g. '*fashion*'")
    parser.set_defaults(handler=run_list)


def shipped_cards(pattern="*"):
    """{name: card} of the shipped presets matching `pattern`, sorted by name: what zoo.presets.store lists and
    reads, without importing it (it imports the recipes, and so TensorFlow)."""
    from zoo.files import read_json

    names = [name for name in os.listdir(PRESETS_DIR)
             if all(os.path.isfile(os.path.join(PRESETS_DIR, name, file)) for file in ("config.json", "card.json"))]
    return {name: read_json(os.path.join(PRESETS_DIR, name, "card.json"))
            for name in sorted(fnmatch.filter(names, pattern))}


def run_list(args):
    for name, card in shipped_cards(args.pattern).items():
        print(f"{name:36s} {card['recipe']:14s} {card['task']:17s} {'x'.join(map(str, card['image_shape']))}")
    return 0


def add_card(subparsers):
    parser = subparsers.add_parser("card", help="print a pretrained model's card (Markdown, or --json)")
    parser.add_argument("model")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run_card)


def run_card(args):
    from zoo.presets import store
    from zoo.presets.packaging import card_markdown

    card = store.card(args.model)
    print(json.dumps(card, indent=2, sort_keys=True) if args.json else card_markdown(card))
    return 0


def add_cards(subparsers):
    parser = subparsers.add_parser("cards", help="regenerate the Markdown model cards and their index")
    parser.add_argument("--out", default=os.path.join("docs", "model_cards"))
    parser.add_argument("--readme", default="README.md", help="README whose preset table is updated ('' to skip)")
    parser.set_defaults(handler=run_cards)


def run_cards(args):
    from zoo.presets.packaging import write_all_cards

    print(f"model cards: {write_all_cards(args.out, args.readme or None)}")
    return 0
