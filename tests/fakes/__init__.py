"""Local stand-ins for services tests cannot reach, speaking the real wire protocols."""
