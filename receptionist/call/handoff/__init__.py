"""Handing a caller to people: transfers (blind and warm), the keypad, voicemail."""
