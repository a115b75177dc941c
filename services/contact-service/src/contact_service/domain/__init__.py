"""Contact-service domain: contact rules as versioned policy packs, and the engine applying them."""
