# A run, once: the container command of deliveryhero/locust's master and workers (the helmfile's
# engine deliveryhero), whose Deployments restart whatever exits and re-create whatever is evicted.
#
#   sh run_once.sh COMPONENT STATE NOT_AFTER ENTRYPOINT [LOCUST ARGUMENTS...]
#
# COMPONENT is master or worker; STATE a folder that outlives the container (an emptyDir, or the
# results volume); NOT_AFTER the latest start of the run, in seconds since the epoch (empty: none);
# ENTRYPOINT deliveryhero's script, run with the Locust arguments.
#
# The master runs the profile at most once, as the master Job of the default engine does: a container
# restarted after the run (its exit code is the verdict), after a crash or an OOM kill, or a pod
# re-created after NOT_AFTER (an eviction once the run is over) says so in one line and stays idle.
# A worker restarted after a failure rejoins the run (as the worker Job replaces it); after the master
# quit it (exit 0) or could not be reached (255) it stays idle. Idle containers end at once on SIGTERM.
component=$1 state=$2 not_after=$3 entrypoint=$4
shift 4

idle() {
  echo "locust-scenarios: $1; this $component stays idle until the release is applied again (a new run) or removed"
  trap 'kill "$nap" 2>/dev/null; exit 0' TERM INT
  while :; do
    sleep 3600 &
    nap=$!
    wait "$nap"
  done
}

mkdir -p "$state" || exit 1
if [ -e "$state/.started" ]; then
  code=$(cat "$state/.exit-code" 2>/dev/null)
  case "$component:$code" in
    master:*) idle "the master already ran this run (exit code ${code:-unknown: it was killed}; the log of that container: kubectl logs --previous); a run is never started twice" ;;
    worker:0 | worker:255) idle "the run is over for this worker (exit code $code)" ;;
  esac
  echo "locust-scenarios: this worker restarts after exit code ${code:-unknown: it was killed} and rejoins the run"
elif [ -n "$not_after" ] && [ "$(date +%s)" -gt "$not_after" ]; then
  idle "this run had to start by $not_after (seconds since the epoch; run.deadlineMarginSeconds after the apply): a pod re-created after that does not start it again"
fi

rm -f "$state/.exit-code"
: >"$state/.started"
trap 'kill -TERM "$child" 2>/dev/null' TERM
trap 'kill -INT "$child" 2>/dev/null' INT
sh "$entrypoint" "$@" &
child=$!
# A trapped signal cuts a wait short: wait until the child is gone, then once more for its status
# (the shell keeps it).
while kill -0 "$child" 2>/dev/null; do
  wait "$child"
done
wait "$child"
code=$?
echo "$code" >"$state/.exit-code"
exit "$code"
