"""A FishShop as the operator reads it: names, index, status and manifests. Pure."""
