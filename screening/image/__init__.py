"""Image screening: perceptual hashes, a Hamming-radius index, region proposals, OCR and fonts."""
