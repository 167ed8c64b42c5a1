#!/bin/sh
# Regenerate the default prompts with espeak-ng 1.51 and SoX 14.4 (Debian packages
# espeak-ng and sox): 8 kHz mono 16-bit WAV, the format Asterisk's format_wav plays.
# English goes to sounds/NAME.wav (the fallback for every language), other languages
# to sounds/<code>/NAME.wav. Same tools, same text: the same bytes (no dither).
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() {  # say VOICE OUTPUT TEXT
    espeak-ng -v "$1" -s 155 -w "$tmp/raw.wav" "$3"
    # Trimmed at both ends (as the filler is): silence around a prompt is dead air.
    sox -D "$tmp/raw.wav" -r 8000 -c 1 -b 16 "$2" silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse
}

say en-us fallback.wav "Sorry, the receptionist cannot take your call right now. Please hold while we connect you to our team."
say en-us transfer.wav "Please hold while I transfer your call."
say en-us consent.wav "This call may be recorded for quality and training purposes."

mkdir -p es
say es-419 es/fallback.wav "Lo sentimos, la recepcionista no puede atender su llamada en este momento. Por favor, espere mientras le comunicamos con nuestro equipo."
say es-419 es/transfer.wav "Por favor, espere mientras transfiero su llamada."
say es-419 es/consent.wav "Esta llamada puede ser grabada con fines de calidad y capacitación."
