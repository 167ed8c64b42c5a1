"""The turn machine: every rule of who speaks when, as a pure state machine, and its events."""
