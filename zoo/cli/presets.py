"""gan-zoo's verbs about the shipped presets: list, card and cards (regenerate the Markdown cards)."""
import json
import os

def add_list(subparsers):
    parser = subparsers.add_parser("list", help="the pretrained models shipped with the package")
    parser.add_argument("pattern", nargs="?", default="*", help="shell-style filter, e.g. '*fashion*'")
    parser.set_defaults(handler=run_list)


def run_list(args):
    from zoo.presets import store

    for name in store.list_models(args.pattern):
        card = store.card(name)
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
