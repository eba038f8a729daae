#!/bin/sh
# A counter read by drain: unknown (exit 1) for the first 1.5 s, then busy,
# quiet, a flap back to busy, then quiet for good.
now=$(date +%s%N); start=$(cat /tmp/cap/start)
ms=$(( (now - start) / 1000000 ))
if [ $ms -lt 1500 ]; then echo "metrics endpoint not up yet" >&2; exit 1; fi
if [ $ms -lt 2300 ]; then echo 2; exit 0; fi
if [ $ms -lt 2800 ]; then echo 0; exit 0; fi
if [ $ms -lt 3200 ]; then echo 1; exit 0; fi
echo 0
