{{- /*
Where things are in the pods: the master's port and the paths the chart mounts. Read by
helmfile/deliveryhero.values.yaml.gotmpl too (through tpl), so both engines use these definitions:
values in, text out, only functions helm and helmfile share (no get, fromYamlArray or lookup) and no
.Files, .Release or .Chart.
*/ -}}

{{/*
locust-scenarios.masterPort: the port the master listens on for its workers (Locust's default).
*/}}
{{- define "locust-scenarios.masterPort" -}}
5557
{{- end }}

{{/*
locust-scenarios.paths: the mount paths of the pods, as a YAML map (use with fromYaml): home holds the
chart's own volumes (package, site-packages, installer, wheelhouse), locustfiles the locustfiles (and,
with the deliveryhero engine, lib its lib ConfigMap), tmp the only other writable folder.
*/}}
{{- define "locust-scenarios.paths" -}}
{{- $home := "/opt/locust-scenarios" }}
{{- $locustfiles := "/mnt/locust" }}
home: {{ $home }}
package: {{ $home }}/package
sitePackages: {{ $home }}/site-packages
installer: {{ $home }}/installer
wheelhouse: {{ $home }}/wheelhouse
caBundle: /etc/locust-scenarios/ca
locustfiles: {{ $locustfiles }}
lib: {{ $locustfiles }}/lib
results: /results
tmp: /tmp
{{- end }}

{{/*
locust-scenarios.locustfileArg: Locust's -f argument: the named locustfiles under the locustfiles mount,
comma-separated (Locust runs them all). Call with the list of names.
*/}}
{{- define "locust-scenarios.locustfileArg" -}}
{{- $mount := (include "locust-scenarios.paths" . | fromYaml).locustfiles }}
{{- $paths := list }}
{{- range . }}
{{- $paths = append $paths (printf "%s/%s" $mount .) }}
{{- end }}
{{- join "," $paths }}
{{- end }}

{{/*
locust-scenarios.installerScript: the file name of the dependency installer (scripts/) in its ConfigMap
and under paths.installer.
*/}}
{{- define "locust-scenarios.installerScript" -}}
install_dependencies.py
{{- end }}

{{/*
locust-scenarios.runOnceScript: the file name of the deliveryhero engine's container command
(scripts/run_once.sh: a run at most once per master) in config-only mode's lib ConfigMap.
*/}}
{{- define "locust-scenarios.runOnceScript" -}}
run-once.sh
{{- end }}

{{/*
locust-scenarios.pythonpathZip: the zip of the package and helper modules under files/ (written by
`locust-scenarios bundle --zip`), which config-only mode ships in its lib ConfigMap.
*/}}
{{- define "locust-scenarios.pythonpathZip" -}}
pythonpath.zip
{{- end }}

{{/*
locust-scenarios.requirementsFile: the key of the pinned list in config-only mode's lib ConfigMap.
*/}}
{{- define "locust-scenarios.requirementsFile" -}}
requirements.txt
{{- end }}
