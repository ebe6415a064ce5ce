{{- /*
What `locust-scenarios bundle` put under files/: bundle.json, the package, the locustfiles, the pinned
list, the Locust version (appVersion). Call with the root context unless a helper says otherwise.
*/ -}}

{{/*
locust-scenarios.bundle: files/bundle.json as JSON ("{}" when the chart was not made by the bundle
step). Use with fromJson.
*/}}
{{- define "locust-scenarios.bundle" -}}
{{- .Files.Get "files/bundle.json" | default "{}" }}
{{- end }}

{{/*
locust-scenarios.image: repository:tag; the tag defaults to the Locust version the bundle was made with.
*/}}
{{- define "locust-scenarios.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
locust-scenarios.requirements: the pinned packages the init container installs, one per line:
dependencies.packages when set, else the bundle's computed list.
*/}}
{{- define "locust-scenarios.requirements" -}}
{{- $bundle := include "locust-scenarios.bundle" . | fromJson }}
{{- $packages := .Values.dependencies.packages | default (get $bundle "requirements") | default list }}
{{- join "\n" $packages }}
{{- end }}

{{/*
locust-scenarios.installDependencies: "true" when an init container installs packages.
*/}}
{{- define "locust-scenarios.installDependencies" -}}
{{- if and .Values.dependencies.install (include "locust-scenarios.requirements" .) }}true{{ end }}
{{- end }}

{{/*
locust-scenarios.locustfiles: the -f argument: the chosen locustfiles (or all bundled ones) under the
locustfiles mount, comma-separated.
*/}}
{{- define "locust-scenarios.locustfiles" -}}
{{- $bundle := include "locust-scenarios.bundle" . | fromJson }}
{{- include "locust-scenarios.locustfileArg" (.Values.locust.locustfiles | default (get $bundle "locustfiles") | default list) }}
{{- end }}

{{/*
locust-scenarios.configMapItems: items[] projecting every file under files/<folder>/ back to its
relative path (ConfigMap keys cannot hold "/": the key is the path with "/" replaced by ".").
Call with (dict "root" $ "folder" "package").
*/}}
{{- define "locust-scenarios.configMapItems" -}}
{{- $prefix := printf "files/%s/" .folder }}
{{- range $path, $_ := .root.Files.Glob (printf "%s**" $prefix) }}
{{- $relative := trimPrefix $prefix $path }}
- key: {{ $relative | replace "/" "." | quote }}
  path: {{ $relative | quote }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.configMapData: ConfigMap data of every file under files/<folder>/, keyed as in
configMapItems. Call with (dict "root" $ "folder" "package").
*/}}
{{- define "locust-scenarios.configMapData" -}}
{{- $prefix := printf "files/%s/" .folder }}
{{- $data := dict }}
{{- range $path, $content := .root.Files.Glob (printf "%s**" $prefix) }}
{{- $_ := set $data (trimPrefix $prefix $path | replace "/" ".") (toString $content) }}
{{- end }}
{{- toYaml $data }}
{{- end }}
