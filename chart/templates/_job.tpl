{{- /*
Run mode's Jobs: their shared spec and how they treat a failed pod. The deadline and the grace period
are in _durations.tpl. Call with (dict "root" $ "component" "master").
*/ -}}

{{/*
locust-scenarios.jobSpec: the spec fields of a run-mode Job: how many failed pods it tolerates (the
master none: a failed test is never re-run; workers run.workerReplacements, see podFailurePolicy), the
deadline, the clean-up.
*/}}
{{- define "locust-scenarios.jobSpec" -}}
{{- $v := .root.Values }}
{{- $bundle := include "locust-scenarios.bundle" .root | fromJson }}
backoffLimit: {{ ternary 0 $v.run.workerReplacements (eq .component "master") }}
activeDeadlineSeconds: {{ include "locust-scenarios.activeDeadlineSeconds" (dict "values" $v "planned" (get $bundle "plannedSeconds")) }}
{{- with $v.run.ttlSecondsAfterFinished }}
ttlSecondsAfterFinished: {{ . }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.podFailurePolicy: how a Job treats a failed pod. Master: a disruption fails the Job at
once, naming the cause; it is never re-run. Workers: a pod lost to a disruption (eviction, preemption,
node drain or loss: the pod has DisruptionTarget, and the worker exits non-zero on SIGTERM mid-run) is
replaced without counting; invalid configuration (exit 2) fails the Job at once, since a replacement
would fail the same way; any other failure (OOM kill, a crash, a SIGTERM without a disruption
condition) is replaced and counts against backoffLimit (run.workerReplacements). Each replacement
rejoins the master, which gives it users (rebalancing).
*/}}
{{- define "locust-scenarios.podFailurePolicy" -}}
podFailurePolicy:
  rules:
    - action: {{ ternary "FailJob" "Ignore" (eq .component "master") }}
      onPodConditions:
        - type: DisruptionTarget
          status: "True"
    {{- if ne .component "master" }}
    - action: FailJob
      onExitCodes:
        containerName: {{ .component }}
        operator: In
        values: [2]
    {{- end }}
{{- end }}
