# Bundle refresh, run by the test release's prepare hook (helmfile.yaml.gotmpl) before any release is
# rendered, from the bundle's helmfile/ folder, as:
#   sh -c "<this script>" refresh-bundle MODE COMMAND [BUNDLE-OPTION...]
#   MODE auto: refresh when the locust-scenarios command is on PATH, else say so in one line and
#              deploy the bundle as it is; true: the same, but a refresh that cannot happen stops the
#              deploy.
#   COMMAND the helmfile command: only `apply` and `sync` refresh; every other one (template, lint,
#              diff, destroy, ...) leaves the bundle as it is and needs nothing but sh.
#   BUNDLE-OPTIONs go to the refresh, e.g. --zip for the deliveryhero engine.
# The refresh re-makes the bundle from the code installed now and the locustfiles it recorded
# (idempotent: the same inputs write the same files).
mode=$1
command=$2
shift 2
case "$command" in
apply | sync) ;;
*) exit 0 ;;
esac
if [ "$mode" = auto ]; then fallback="deploying the bundle as it is"; else fallback="refreshBundle is true: stopping"; fi
if ! command -v locust-scenarios >/dev/null 2>&1; then
  echo "bundle not refreshed: the locust-scenarios command is not on PATH; $fallback"
  [ "$mode" = auto ]
  exit
fi
if reason=$(locust-scenarios bundle .. --refresh "$@" 2>&1 >/dev/null); then
  echo "bundle refreshed: it ships the code installed now"
  exit 0
fi
echo "bundle not refreshed: ${reason#locust-scenarios bundle: error: }; $fallback"
[ "$mode" = auto ]
