"""Fine-tuning methods: which parameters train and how the backbone is rewritten."""
