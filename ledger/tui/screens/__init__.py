"""One screen per module, imported lazily by the app so first paint does not pay for screens never opened."""
