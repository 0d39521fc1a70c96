"""GAN Zoo: what users touch — datasets, training, (later) pretrained presets, metrics and the CLI."""
