#!/bin/sh
# A stand-in load balancer CLI for the exec rotation method's tests: the
# member's state lives in the file $1; $2 is the sub-command.
#   out | in     set the state (unless $1.stuck exists: then say ok and do nothing)
#   status       print the state
#   fail         print an error and exit 3
#   hang         sleep (for the timeout)
#   garbage      print something that is neither IN nor OUT
state=$1
case $2 in
out | in)
	if [ -e "$state.stuck" ]; then
		echo "ok"
		exit 0
	fi
	if [ "$2" = out ]; then echo OUT >"$state"; else echo IN >"$state"; fi
	echo "member set $2"
	;;
status) cat "$state" ;;
fail)
	echo "error: member web01 not found in pool web" >&2
	exit 3
	;;
hang) exec sleep 30 ;;
garbage) echo "enabled (maybe)" ;;
*)
	echo "usage: lb.sh STATE out|in|status|fail|hang|garbage" >&2
	exit 2
	;;
esac
