"""Text-to-speech engines behind one small interface (see ``base``)."""
