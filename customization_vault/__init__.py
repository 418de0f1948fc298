"""The vault core: envelope crypto, key providers, blob stores, catalog, lifecycle, review, audit."""
