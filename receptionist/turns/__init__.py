"""The turn machine: every rule of who speaks when, as a pure state machine, and its events.

Importing it loads neither the model SDK nor the store, HTTP or calendar libraries: the
machine takes events and returns commands (events.py), and `call/conversation.py` does
the I/O.

Every rule of a turn lives in this package, and the machine (machine.py) applies them:
- What the caller heard is what counts. Assistant lines are saved once their audio has
  played, timed by playout; a reply cut short is saved with the milliseconds heard.
- Barge-in: the caller speaking stops playback, cancels a reply still being generated,
  and truncates what was cut at what was heard. Audio of a reply the caller cut off (or
  that we cancelled) is dropped here, and only here. A hang-up or transfer asked for by a
  reply the caller did not hear to the end is never carried out.
  A provider whose turn-taking is ours first says the caller may be starting to speak:
  playback holds (nothing lost) and plays on if that was not a turn after all.
- Consent: recording starts only once the consent reply has played uninterrupted; if
  it was cut, the next reply is replaced by one that says the consent again first.
- No dead air: every reply the caller waits for has a first-audio deadline: a short
  filler first, then the fallback (a person) if the model still says nothing. While a
  tool runs, the filler repeats and the fallback waits for the (longer) tool wait.
- Silence: when neither side has said anything for `silence_ms`, the model checks in;
  if the silence goes on, it says goodbye (outcome caller_silent).
- Call length: at `max_call_ms` the model says goodbye (outcome max_duration).
- Goodbye: once asked for, the line closes when the model ends the call, or after
  `goodbye_grace_ms` once nothing is playing, whichever comes first.
- Transfers: a transfer to a department's phone is checked first (is the phone there and
  free?); a refused one is not carried out and the model is told why.
- Bounded tools: tool calls are capped per reply and per call (then the fallback), and
  messages per call; tool results from one reply get one follow-up reply, never one each.
- Keypad: a key in the business's keypad map ends the turn with its command (transfer,
  voicemail, operator) at any moment, mid-reply included; the model never sees keys.
- The session ends on its own close or a fatal model error, never on a malformed event
  (the session's translator skips those); a broken step of the call (Abort) falls back.
"""
