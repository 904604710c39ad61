// Package deploy holds the Kubernetes manifests of fix-status (kustomize) and
// the test that keeps them consistent with the server config and the image.
package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/fix-status/fix-status/config"
)

// kinds maps apiVersion/kind to the Go type a manifest must decode into.
var kinds = map[string]func() any{
	"apps/v1/Deployment":                             func() any { return &appsv1.Deployment{} },
	"v1/Service":                                     func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                              func() any { return &corev1.ServiceAccount{} },
	"v1/ConfigMap":                                   func() any { return &corev1.ConfigMap{} },
	"policy/v1/PodDisruptionBudget":                  func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":             func() any { return &networkingv1.NetworkPolicy{} },
	"monitoring.coreos.com/v1/ServiceMonitor":        func() any { return &monitoringv1.ServiceMonitor{} },
	"kustomize.config.k8s.io/v1beta1/Kustomization":  func() any { return &kustypes.Kustomization{} },
	"kustomize.config.k8s.io/v1alpha1/Component":     func() any { return &kustypes.Kustomization{} },
	"kustomize.config.k8s.io/v1beta1/Component":      func() any { return &kustypes.Kustomization{} },
	"kustomize.config.k8s.io/v1alpha1/Kustomization": func() any { return &kustypes.Kustomization{} },
}

// serverConfigs are files of this tree that are server configs, not
// manifests.
var serverConfigs = []string{"base/config.yaml"}

// decodeAll decodes every YAML document of data strictly (unknown and
// duplicate fields are errors) into its Go type.
func decodeAll(data []byte) ([]any, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []any
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, err
		}
		if tm.APIVersion == "" && tm.Kind == "" {
			continue // only comments
		}
		newObj, ok := kinds[tm.APIVersion+"/"+tm.Kind]
		if !ok {
			return nil, fmt.Errorf("no Go type for %s %s", tm.APIVersion, tm.Kind)
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("%s: %w", tm.Kind, err)
		}
		objs = append(objs, obj)
	}
}

func TestEveryManifestDecodesStrictly(t *testing.T) {
	var files int
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p == "prometheus" {
			// Prometheus rule files, not manifests: prometheus/alerts_test.go
			// checks them with promtool.
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() || (filepath.Ext(p) != ".yaml" && filepath.Ext(p) != ".yml") || slices.Contains(serverConfigs, filepath.ToSlash(p)) {
			return err
		}
		files++
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		objs, err := decodeAll(data)
		if err != nil {
			t.Errorf("%s: %v", p, err)
		} else if len(objs) == 0 {
			t.Errorf("%s: no manifest", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 10 {
		t.Errorf("only %d manifests found", files)
	}
}

// TestStrictDecoderRefuses proves the decoder above is strict.
func TestStrictDecoderRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":    "apiVersion: v1\nkind: Service\nspec:\n  prots: []\n",
		"wrong type":       "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: two\n",
		"duplicate field":  "apiVersion: v1\nkind: Service\nspec:\n  type: ClusterIP\n  type: NodePort\n",
		"unknown kind":     "apiVersion: v1\nkind: Pod\n",
		"kustomize typo":   "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresource: [a.yaml]\n",
		"monitoring typo":  "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nspec:\n  endpoint: []\n",
		"second doc wrong": "apiVersion: v1\nkind: Service\n---\napiVersion: v1\nkind: Service\nspec: {bad: 1}\n",
	} {
		if _, err := decodeAll([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// rendered is the output of one kustomization, by kind and name.
type rendered struct {
	deployments     map[string]*appsv1.Deployment
	services        map[string]*corev1.Service
	configMaps      map[string]*corev1.ConfigMap
	pdbs            []*policyv1.PodDisruptionBudget
	serviceMonitors []*monitoringv1.ServiceMonitor
}

func render(t *testing.T, fSys filesys.FileSystem, dir string) *rendered {
	t.Helper()
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fSys, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := resMap.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeAll(out)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	r := &rendered{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{}}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			r.deployments[o.Name] = o
		case *corev1.Service:
			r.services[o.Name] = o
		case *corev1.ConfigMap:
			r.configMaps[o.Name] = o
		case *policyv1.PodDisruptionBudget:
			r.pdbs = append(r.pdbs, o)
		case *monitoringv1.ServiceMonitor:
			r.serviceMonitors = append(r.serviceMonitors, o)
		}
	}
	return r
}

// image is what the Dockerfile says about the container.
type image struct {
	expose []int
	env    []string
	cmd    []string
}

func readDockerfile(t *testing.T) image {
	t.Helper()
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var img image
	// Only the final stage describes the image.
	stages := strings.Split(string(data), "\nFROM ")
	for _, line := range strings.Split(stages[len(stages)-1], "\n") {
		instr, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch instr {
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
				if err != nil {
					t.Fatalf("EXPOSE %s: %v", p, err)
				}
				img.expose = append(img.expose, n)
			}
		case "ENV":
			name, _, _ := strings.Cut(rest, "=")
			img.env = append(img.env, name)
		case "CMD":
			if err := json.Unmarshal([]byte(rest), &img.cmd); err != nil {
				t.Fatalf("CMD %s: %v", rest, err)
			}
		}
	}
	return img
}

func TestKustomizations(t *testing.T) {
	// A kustomization that turns the ServiceMonitor component on, the way an
	// operator's overlay would, beside a copy of this tree (kustomize refuses
	// absolute paths).
	tree := t.TempDir()
	if err := os.CopyFS(tree, os.DirFS(".")); err != nil {
		t.Fatal(err)
	}
	monitoring := filepath.Join(tree, "overlays", "monitoring")
	kust := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../../base]\ncomponents: [../../components/servicemonitor]\n"
	if err := os.MkdirAll(monitoring, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(monitoring, "kustomization.yaml"), []byte(kust), 0o600); err != nil {
		t.Fatal(err)
	}

	img := readDockerfile(t)
	envNames := config.EnvNames()
	for _, name := range img.env {
		if !slices.Contains(envNames, name) {
			t.Errorf("Dockerfile: ENV %s is no server config override", name)
		}
	}
	if !slices.Equal(img.expose, []int{config.DefaultPort}) {
		t.Errorf("Dockerfile: EXPOSE %v, want %d", img.expose, config.DefaultPort)
	}

	tests := []struct {
		dir             string
		minReplicas     int32
		redis           bool
		serviceMonitors int
	}{
		{dir: "base", minReplicas: 2},
		{dir: "overlays/redis", minReplicas: 3, redis: true},
		{dir: monitoring, minReplicas: 2, serviceMonitors: 1},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.dir), func(t *testing.T) {
			r := render(t, filesys.MakeFsOnDisk(), tt.dir)
			d := r.deployments["fix-status"]
			if d == nil {
				t.Fatalf("no fix-status Deployment in %v", r.deployments)
			}
			if got := *d.Spec.Replicas; got < tt.minReplicas {
				t.Errorf("replicas %d, want at least %d", got, tt.minReplicas)
			}
			for _, dep := range r.deployments {
				checkHardened(t, dep)
			}
			c := container(t, d, "fix-status")
			if !slices.Equal(c.Args, img.cmd) {
				t.Errorf("args %q differ from the image's CMD %q", c.Args, img.cmd)
			}
			cfg := serverConfig(t, r, d, c)
			checkPortsAndProbes(t, c, cfg)
			checkTermination(t, d, c, cfg)
			if cfg.RedisEnabled() != tt.redis {
				t.Errorf("redis enabled %v, want %v", cfg.RedisEnabled(), tt.redis)
			}
			if tt.redis {
				checkRedisAddress(t, r, cfg.Redis.Address)
			}
			svc := r.services["fix-status"]
			if svc == nil {
				t.Fatal("no fix-status Service")
			}
			checkService(t, svc, d, c)
			if len(r.pdbs) != 1 || !selects(r.pdbs[0].Spec.Selector, d.Spec.Template.Labels) {
				t.Errorf("want one PodDisruptionBudget selecting the fix-status pods, got %d", len(r.pdbs))
			}
			if len(r.serviceMonitors) != tt.serviceMonitors {
				t.Errorf("%d ServiceMonitors, want %d", len(r.serviceMonitors), tt.serviceMonitors)
			}
			for _, sm := range r.serviceMonitors {
				if !selects(&sm.Spec.Selector, svc.Labels) || len(sm.Spec.Endpoints) != 1 ||
					sm.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name || sm.Spec.Endpoints[0].Path != config.MetricsPath {
					t.Errorf("ServiceMonitor does not scrape the Service's /metrics: selector %v, endpoints %d", sm.Spec.Selector.MatchLabels, len(sm.Spec.Endpoints))
				}
			}
		})
	}
}

func container(t *testing.T, d *appsv1.Deployment, name string) *corev1.Container {
	t.Helper()
	for i := range d.Spec.Template.Spec.Containers {
		if c := &d.Spec.Template.Spec.Containers[i]; c.Name == name {
			return c
		}
	}
	t.Fatalf("Deployment %s has no container %s", d.Name, name)
	return nil
}

// checkHardened: non-root, read-only root file system, no privilege
// escalation, no capabilities, resources bounded.
func checkHardened(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: pod not runAsNonRoot", d.Name)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: mounts a service account token it does not need", d.Name)
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("%s/%s: no securityContext", d.Name, c.Name)
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("%s/%s: root file system writable", d.Name, c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("%s/%s: privilege escalation allowed", d.Name, c.Name)
		case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
			t.Errorf("%s/%s: capabilities not all dropped", d.Name, c.Name)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s/%s: resources %v", d.Name, c.Name, c.Resources)
		}
	}
}

// serverConfig is the config the fix-status container runs with: the
// ConfigMap's file, parsed strictly, with the container's environment
// (secrets replaced by test values), defaulted and validated.
func serverConfig(t *testing.T, r *rendered, d *appsv1.Deployment, c *corev1.Container) *config.Server {
	t.Helper()
	cfgPath := c.Args[slices.Index(c.Args, "--config")+1]
	var cm *corev1.ConfigMap
	for _, m := range c.VolumeMounts {
		if m.MountPath != path.Dir(cfgPath) {
			continue
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil {
				cm = r.configMaps[v.ConfigMap.Name]
			}
		}
	}
	if cm == nil {
		t.Fatalf("no rendered ConfigMap is mounted at %s", path.Dir(cfgPath))
	}
	data, ok := cm.Data[path.Base(cfgPath)]
	if !ok {
		t.Fatalf("ConfigMap %s has no %s", cm.Name, path.Base(cfgPath))
	}
	cfg, err := config.ParseServer([]byte(data))
	if err != nil {
		t.Fatalf("ConfigMap %s: %v", cm.Name, err)
	}

	const testKey = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"
	secretValues := map[string]string{"app-id": "12345", "private-key": testKey, "webhook-secret": "s", "oauth-client-id": "Iv1.x", "oauth-client-secret": "x"}
	env := map[string]string{}
	for _, e := range c.Env {
		if !slices.Contains(config.EnvNames(), e.Name) {
			t.Errorf("env %s is no server config override (config.EnvNames)", e.Name)
		}
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			v, ok := secretValues[e.ValueFrom.SecretKeyRef.Key]
			if !ok {
				t.Errorf("env %s: unexpected secret key %s", e.Name, e.ValueFrom.SecretKeyRef.Key)
			}
			env[e.Name] = v
		default:
			t.Errorf("env %s: from neither a value nor a Secret", e.Name)
		}
	}
	for _, name := range []string{"GITHUB_APP_PRIVATE_KEY", "GITHUB_APP_WEBHOOK_SECRET", "FIX_STATUS_UI_OAUTH_CLIENT_SECRET"} {
		if i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name }); i < 0 || c.Env[i].ValueFrom == nil || c.Env[i].ValueFrom.SecretKeyRef == nil {
			t.Errorf("env %s must come from a Secret", name)
		}
	}
	// The image's environment comes first; the container's overrides it.
	imageEnv := map[string]string{"FIX_STATUS_SERVER_ADDRESS": "0.0.0.0"}
	lookup := func(k string) (string, bool) {
		if v, ok := env[k]; ok {
			return v, true
		}
		v, ok := imageEnv[k]
		return v, ok
	}
	if err := cfg.SetValuesFromEnv(lookup); err != nil {
		t.Fatal(err)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the container's config is invalid:\n%v", err)
	}
	return cfg
}

func checkPortsAndProbes(t *testing.T, c *corev1.Container, cfg *config.Server) {
	t.Helper()
	if cfg.Server.Port != config.DefaultPort {
		t.Errorf("server.port %d, want the default %d (the image exposes it)", cfg.Server.Port, config.DefaultPort)
	}
	if len(c.Ports) != 1 || int(c.Ports[0].ContainerPort) != cfg.Server.Port || c.Ports[0].Name != "http" {
		t.Fatalf("container ports %+v, want one named http on %d", c.Ports, cfg.Server.Port)
	}
	for name, p := range map[string]struct {
		probe *corev1.Probe
		path  string
	}{"liveness": {c.LivenessProbe, config.HealthzPath}, "readiness": {c.ReadinessProbe, config.ReadyzPath}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe: want an HTTP GET", name)
			continue
		}
		if g := p.probe.HTTPGet; g.Path != p.path || (g.Port.String() != c.Ports[0].Name && g.Port.IntValue() != cfg.Server.Port) {
			t.Errorf("%s probe: GET %s on port %s, want %s on %s", name, g.Path, g.Port.String(), p.path, c.Ports[0].Name)
		}
	}
}

// checkTermination: the grace period covers the preStop sleep, the drain and
// a margin for the process to exit.
func checkTermination(t *testing.T, d *appsv1.Deployment, c *corev1.Container, cfg *config.Server) {
	t.Helper()
	const margin = 5
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatal("no preStop sleep")
	}
	sleep := c.Lifecycle.PreStop.Sleep.Seconds
	drain := int64(cfg.Server.DrainTimeout.Seconds())
	grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil {
		t.Fatal("no terminationGracePeriodSeconds")
	}
	if sleep < 1 || *grace < sleep+drain+margin {
		t.Errorf("terminationGracePeriodSeconds %d, want at least preStop %ds + drain_timeout %ds + %ds", *grace, sleep, drain, margin)
	}
	// The HTTP cache lives in the Go heap, which GOGC=100 lets grow to twice
	// the live data before collecting.
	if limit := c.Resources.Limits.Memory(); limit.Cmp(*resource.NewQuantity(2*cfg.Server.HTTPCacheBytes, resource.BinarySI)) < 0 {
		t.Errorf("memory limit %s, want at least twice server.http_cache_bytes (%d)", limit, cfg.Server.HTTPCacheBytes)
	}
}

func checkService(t *testing.T, svc *corev1.Service, d *appsv1.Deployment, c *corev1.Container) {
	t.Helper()
	if !selects(&metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, d.Spec.Template.Labels) || !selects(d.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != c.Ports[0].Name {
		t.Errorf("Service ports %+v, want one targeting %s", svc.Spec.Ports, c.Ports[0].Name)
	}
}

// checkRedisAddress: the address the replicas use is the Redis Service.
func checkRedisAddress(t *testing.T, r *rendered, addr string) {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	svc := r.services[host]
	if svc == nil {
		t.Fatalf("redis address %s: no Service %s", addr, host)
	}
	if len(svc.Spec.Ports) != 1 || strconv.Itoa(int(svc.Spec.Ports[0].Port)) != port {
		t.Errorf("redis address %s: Service ports %+v", addr, svc.Spec.Ports)
	}
	var pods *appsv1.Deployment
	for _, d := range r.deployments {
		if selects(&metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, d.Spec.Template.Labels) {
			pods = d
		}
	}
	if pods == nil || slices.IndexFunc(pods.Spec.Template.Spec.Containers[0].Ports, func(p corev1.ContainerPort) bool {
		return p.Name == svc.Spec.Ports[0].TargetPort.String()
	}) < 0 {
		t.Errorf("Service %s selects no Deployment with its target port", host)
	}
}

// selects reports whether sel selects pods with these labels; an empty
// selector selects none here, though Kubernetes would read it as all.
func selects(sel *metav1.LabelSelector, podLabels map[string]string) bool {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(podLabels))
}
