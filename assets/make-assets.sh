#!/usr/bin/env bash
# How the audio assets were made (run from assets/; needs sox and espeak-ng). The outputs are
# committed, so nobody needs to run this; it documents that the sounds are our own.
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Music on hold: a slow arpeggio over C, A minor, F and G major (plucked strings), 12 s, looped by
# the server. Notes stay between 196 and 784 Hz, away from the test tones (1000 Hz and up).
i=0
for chord in "261.63 329.63 392.00 523.25" "220.00 261.63 329.63 440.00" \
             "174.61 220.00 261.63 349.23" "196.00 246.94 293.66 392.00"; do
  for rep in 1 2 3; do
    for f in $chord; do
      sox -n -r 16000 -c 1 -b 16 "$tmp/n$(printf %03d $i).wav" synth 0.25 pluck "$f" fade q 0.005 0.25 0.12 vol 0.5
      i=$((i + 1))
    done
  done
done
sox "$tmp"/n*.wav music-on-hold.wav reverb 30 norm -6

# Ringback (what a caller hears while the far end rings): 425 Hz, 1 s on, 4 s off (ETSI).
sox -n -r 8000 -c 1 -b 16 ringback.wav synth 1 sine 425 vol 0.3 pad 0 4

# Ring tone (what an agent hears on an incoming call): two short 800/1000 Hz bursts, then 2 s silence.
sox -n -r 8000 -c 1 -b 16 "$tmp/r1.wav" synth 0.4 sine 800 sine 1000 vol 0.3 pad 0 0.2
sox "$tmp/r1.wav" "$tmp/r1.wav" ring-tone.wav pad 0 2

# The demo customer's speech.
espeak-ng -v en-us -s 150 -w "$tmp/speech.wav" \
  "Hello, this is Sam Carter. I was charged twice for my order last week, and I would like a refund for the second payment, please."
sox "$tmp/speech.wav" -r 16000 -c 1 -b 16 customer-speech.wav norm -3 pad 0 1
