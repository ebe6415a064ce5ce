{{- /*
The profile's settings as environment variables. Read by helmfile/deliveryhero.values.yaml.gotmpl too
(see _layout.tpl for what that allows).
*/ -}}

{{/*
locust-scenarios.scenarioEnv: the scenario values as LOCUST_SCENARIO* variables, a YAML map (use with
fromYaml). The variable of each key is the one the bundle recorded from the package's option table
(bundle.json settingsEnv: name -> LOCUST_SCENARIO, rampUp -> LOCUST_SCENARIO_RAMP_UP); null values and
keys without one are left out (validateValues names the latter). Call with (dict "scenario"
.Values.scenario "names" <settingsEnv>).
*/}}
{{- define "locust-scenarios.scenarioEnv" -}}
{{- $names := .names | default dict }}
{{- $env := dict }}
{{- range $key, $value := .scenario }}
{{- $name := index $names $key }}
{{- if and $name (not (kindIs "invalid" $value)) }}
{{- $_ := set $env $name (toString $value) }}
{{- end }}
{{- end }}
{{- toYaml $env }}
{{- end }}
