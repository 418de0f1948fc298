"""Text screening: normalisation with offset maps, offensive-term automaton, trademark index."""
