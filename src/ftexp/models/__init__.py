"""Model specs: pretrained (artifact, hub, local) and tiny random-init models."""
