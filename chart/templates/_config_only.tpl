{{/*
locust-scenarios.pythonpathZip: the name of the zip of the package and helper modules under files/
(written by `locust-scenarios bundle --zip`), which config-only mode ships in its lib ConfigMap.
*/}}
{{- define "locust-scenarios.pythonpathZip" -}}
pythonpath.zip
{{- end }}

{{/*
locust-scenarios.validateConfigOnly: fail early, readably, when config-only mode cannot work.
*/}}
{{- define "locust-scenarios.validateConfigOnly" -}}
{{- if .Values.configOnly.enabled }}
{{- $errors := list }}
{{- if .Values.workload.enabled }}
{{- $errors = append $errors "configOnly.enabled needs workload.enabled=false: another chart runs master and workers, this one renders their ConfigMaps" }}
{{- end }}
{{- if not (.Files.Get (printf "files/%s" (include "locust-scenarios.pythonpathZip" .))) }}
{{- $errors = append $errors (printf "configOnly: files/%s is missing: make the bundle with `locust-scenarios bundle DIR --zip` (the helmfile's refresh adds it)" (include "locust-scenarios.pythonpathZip" .)) }}
{{- end }}
{{- if $errors }}
{{- fail (printf "\n\nVALUES ERROR:\n  - %s\n" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}
{{- end }}
