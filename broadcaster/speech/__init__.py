"""Speech: text-to-speech engines (plugins), audio production and the rendition cache."""
