package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const kubernetesDir = "kubernetes"

// kustomization is the part of kustomize's Kustomization that
// kubernetes/kustomization.yaml uses. It is decoded strictly like the other
// manifests: a field the file starts to use must be added here, with a
// check.
type kustomization struct {
	metav1.TypeMeta `json:",inline"`
	Namespace       string           `json:"namespace,omitempty"`
	Resources       []string         `json:"resources,omitempty"`
	Images          []kustomizeImage `json:"images,omitempty"`
}

type kustomizeImage struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// newObject returns an empty object of the type that apiVersion and kind
// name. Only the kinds these manifests use are known: another kind needs its
// own checks before it is welcome.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "v1 Namespace":
		return &corev1.Namespace{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		return &kustomization{}, nil
	}
	return nil, fmt.Errorf("apiVersion %q, kind %q: not a kind these tests know (add it to newObject, with its checks)", apiVersion, kind)
}

// decodeStrict decodes one YAML document into obj the way the API server
// does with strict field validation: YAML to JSON refusing duplicate keys,
// then JSON whose keys must match the type's fields exactly, case included.
func decodeStrict(doc []byte, obj any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, obj)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// decodeManifest decodes one document into the API type its apiVersion and
// kind name. A document of nothing but comments gives nil.
func decodeManifest(doc []byte) (any, error) {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
		return nil, nil
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(j, &tm); err != nil {
		return nil, fmt.Errorf("not an object with apiVersion and kind: %v", err)
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return nil, errors.New("apiVersion or kind is missing")
	}
	obj, err := newObject(tm.APIVersion, tm.Kind)
	if err != nil {
		return nil, err
	}
	if err := decodeStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return obj, nil
}

// splitDocuments splits a YAML stream at its "---" lines.
func splitDocuments(b []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	for line := range bytes.SplitAfterSeq(b, []byte("\n")) {
		if string(bytes.TrimRight(line, " \t\r\n")) == "---" {
			docs = append(docs, cur)
			cur = nil
			continue
		}
		cur = append(cur, line...)
	}
	return append(docs, cur)
}

// cluster is the decoded manifests of a directory, by kind and name.
type cluster struct {
	files        []string // the YAML files, sorted
	kust         *kustomization
	namespaces   map[string]*corev1.Namespace
	accounts     map[string]*corev1.ServiceAccount
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	services     map[string]*corev1.Service
	deployments  map[string]*appsv1.Deployment
	disruptions  map[string]*policyv1.PodDisruptionBudget
	kustFileName string
}

// loadCluster decodes every YAML file of fsys. The error lists every
// document that did not decode.
func loadCluster(fsys fs.FS) (*cluster, error) {
	c := &cluster{
		namespaces: map[string]*corev1.Namespace{}, accounts: map[string]*corev1.ServiceAccount{},
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		services: map[string]*corev1.Service{}, deployments: map[string]*appsv1.Deployment{},
		disruptions: map[string]*policyv1.PodDisruptionBudget{},
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir():
			errs = append(errs, fmt.Errorf("%s: a directory; the manifests are one flat directory", name))
			continue
		case strings.HasSuffix(name, ".yml"):
			errs = append(errs, fmt.Errorf("%s: name manifests *.yaml", name))
			continue
		case !strings.HasSuffix(name, ".yaml"):
			continue
		}
		c.files = append(c.files, name)
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		for i, doc := range splitDocuments(b) {
			obj, err := decodeManifest(doc)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s, document %d: %w", name, i+1, err))
				continue
			}
			if err := c.add(name, obj); err != nil {
				errs = append(errs, fmt.Errorf("%s, document %d: %w", name, i+1, err))
			}
		}
	}
	sort.Strings(c.files)
	return c, errors.Join(errs...)
}

func (c *cluster) add(file string, obj any) error {
	switch o := obj.(type) {
	case nil:
		return nil
	case *kustomization:
		if c.kust != nil {
			return errors.New("a second Kustomization")
		}
		c.kust, c.kustFileName = o, file
		return nil
	case *corev1.Namespace:
		return put(c.namespaces, "Namespace", o.Name, o)
	case *corev1.ServiceAccount:
		return put(c.accounts, "ServiceAccount", o.Name, o)
	case *corev1.ConfigMap:
		return put(c.configMaps, "ConfigMap", o.Name, o)
	case *corev1.Secret:
		return put(c.secrets, "Secret", o.Name, o)
	case *corev1.Service:
		return put(c.services, "Service", o.Name, o)
	case *appsv1.Deployment:
		return put(c.deployments, "Deployment", o.Name, o)
	case *policyv1.PodDisruptionBudget:
		return put(c.disruptions, "PodDisruptionBudget", o.Name, o)
	}
	return fmt.Errorf("%T: decoded but not indexed (add it to cluster.add)", obj)
}

func put[T any](m map[string]T, kind, name string, v T) error {
	if name == "" {
		return fmt.Errorf("%s without metadata.name", kind)
	}
	if _, dup := m[name]; dup {
		return fmt.Errorf("a second %s named %q", kind, name)
	}
	m[name] = v
	return nil
}

// problems collects what a check finds.
type problems []error

func (p *problems) add(format string, a ...any) { *p = append(*p, fmt.Errorf(format, a...)) }

// check checks the references between the manifests, and what they give
// evidentd against its real flags.
func (c *cluster) check(flags flagSet) []error {
	var p problems
	c.checkKustomization(&p)
	for _, ns := range c.namespaces {
		if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			p.add("Namespace %s: label pod-security.kubernetes.io/enforce: restricted is missing", ns.Name)
		}
	}
	if len(c.deployments) == 0 {
		p.add("no Deployment")
	}
	for _, name := range sortedKeys(c.deployments) {
		c.checkDeployment(&p, c.deployments[name], flags)
	}
	for _, name := range sortedKeys(c.services) {
		c.checkService(&p, c.services[name])
	}
	for _, name := range sortedKeys(c.disruptions) {
		c.checkDisruptionBudget(&p, c.disruptions[name])
	}
	return p
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (c *cluster) checkKustomization(p *problems) {
	k := c.kust
	if k == nil {
		p.add("no kustomization.yaml")
		return
	}
	for _, r := range k.Resources {
		if !slices.Contains(c.files, r) {
			p.add("%s: resource %s does not exist", c.kustFileName, r)
		}
	}
	for _, f := range c.files {
		if f != c.kustFileName && !slices.Contains(k.Resources, f) {
			p.add("%s is not listed in the resources of %s", f, c.kustFileName)
		}
	}
	if k.Namespace != "" && c.namespaces[k.Namespace] == nil {
		p.add("%s: namespace %s is not created by any manifest", c.kustFileName, k.Namespace)
	}
	for _, img := range k.Images {
		if img.Digest == "" && (img.NewTag == "" || img.NewTag == "latest") {
			p.add("%s: image %s: pin a version (newTag) or a digest, never latest", c.kustFileName, img.Name)
		}
	}
}

func (c *cluster) checkDeployment(p *problems, d *appsv1.Deployment, flags flagSet) {
	where := "Deployment " + d.Name
	spec := d.Spec
	if spec.Replicas == nil || *spec.Replicas < 2 {
		p.add("%s: replicas: want at least 2, so that one replica can be down", where)
	}
	sel, err := metav1.LabelSelectorAsSelector(spec.Selector)
	switch {
	case err != nil:
		p.add("%s: selector: %v", where, err)
	case sel.Empty():
		p.add("%s: the selector is empty", where)
	case !sel.Matches(labels.Set(spec.Template.Labels)):
		p.add("%s: selector %s does not match the pod template's labels %v", where, sel, spec.Template.Labels)
	}
	pod := spec.Template.Spec
	if sa := pod.ServiceAccountName; sa != "" && c.accounts[sa] == nil {
		p.add("%s: serviceAccountName %s: no such ServiceAccount", where, sa)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		p.add("%s: automountServiceAccountToken: want false (evidentd does not use the Kubernetes API)", where)
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		p.add("%s: the pod's securityContext needs runAsNonRoot: true", where)
	}
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		p.add("%s: the pod's securityContext needs a non-zero runAsUser (the image's is 65532)", where)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		p.add("%s: the pod's securityContext needs seccompProfile type RuntimeDefault", where)
	}

	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
		c.checkVolume(p, where, v)
	}
	if len(pod.Containers) == 0 {
		p.add("%s: no containers", where)
	}
	for _, ct := range pod.Containers {
		c.checkContainer(p, where+", container "+ct.Name, ct, vols, flags)
	}
}

func (c *cluster) checkVolume(p *problems, where string, v corev1.Volume) {
	where += ", volume " + v.Name
	switch {
	case v.ConfigMap != nil:
		cm := c.configMaps[v.ConfigMap.Name]
		if cm == nil {
			p.add("%s: no ConfigMap named %s", where, v.ConfigMap.Name)
			return
		}
		for _, it := range v.ConfigMap.Items {
			if _, ok := configMapValue(cm, it.Key); !ok {
				p.add("%s: ConfigMap %s has no key %q", where, cm.Name, it.Key)
			}
		}
	case v.Secret != nil:
		s := c.secrets[v.Secret.SecretName]
		if s == nil {
			p.add("%s: no Secret named %s", where, v.Secret.SecretName)
			return
		}
		for _, it := range v.Secret.Items {
			if _, ok := secretValue(s, it.Key); !ok {
				p.add("%s: Secret %s has no key %q", where, s.Name, it.Key)
			}
			if it.Mode != nil && *it.Mode&0o007 != 0 {
				p.add("%s: item %s mode %#o is readable by every user", where, it.Key, *it.Mode)
			}
		}
		// Kubernetes's default mode is 0644.
		if m := v.Secret.DefaultMode; m == nil || *m&0o007 != 0 {
			mode := int32(0o644)
			if m != nil {
				mode = *m
			}
			p.add("%s: defaultMode %#o: the Secret's files are readable by every user (want 0440 with fsGroup)", where, mode)
		}
	case v.EmptyDir != nil:
	default:
		p.add("%s: only configMap, secret and emptyDir volumes: evidentd replicas keep no state", where)
	}
}

func configMapValue(cm *corev1.ConfigMap, key string) ([]byte, bool) {
	if v, ok := cm.Data[key]; ok {
		return []byte(v), true
	}
	v, ok := cm.BinaryData[key]
	return v, ok
}

func secretValue(s *corev1.Secret, key string) ([]byte, bool) {
	if v, ok := s.StringData[key]; ok {
		return []byte(v), true
	}
	v, ok := s.Data[key]
	return v, ok
}

// pathFlags are the flags whose values are files evidentd reads.
var pathFlags = []string{"config", "log-key", "trusted-key", "trusted-root", "tsa-chain", "tls-cert", "tls-key"}

func (c *cluster) checkContainer(p *problems, where string, ct corev1.Container, vols map[string]corev1.Volume, flags flagSet) {
	// The image: set by the Kustomization.
	if c.kust != nil && !slices.ContainsFunc(c.kust.Images, func(i kustomizeImage) bool { return i.Name == ct.Image }) {
		p.add("%s: image %s is not set by %s's images", where, ct.Image, c.kustFileName)
	}

	sc := ct.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		p.add("%s: securityContext needs readOnlyRootFilesystem: true", where)
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		p.add("%s: securityContext needs allowPrivilegeEscalation: false", where)
	}
	if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		p.add("%s: securityContext needs capabilities: {drop: [ALL]} and adds none", where)
	}

	r := ct.Resources
	if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() {
		p.add("%s: resources.requests needs cpu and memory", where)
	}
	if r.Limits.Memory().IsZero() {
		p.add("%s: resources.limits needs memory", where)
	}

	ports := map[string]int32{}
	for _, cp := range ct.Ports {
		if cp.Name != "" {
			ports[cp.Name] = cp.ContainerPort
		}
	}
	hasPort := func(port intstr.IntOrString) bool {
		if port.Type == intstr.String {
			_, ok := ports[port.StrVal]
			return ok
		}
		return slices.ContainsFunc(ct.Ports, func(cp corev1.ContainerPort) bool { return cp.ContainerPort == port.IntVal })
	}
	checkProbe := func(name string, pr *corev1.Probe, want string) {
		switch {
		case pr == nil:
			p.add("%s: no %s", where, name)
		case pr.HTTPGet == nil:
			p.add("%s: %s: want an httpGet of %s", where, name, want)
		case pr.HTTPGet.Path != want:
			p.add("%s: %s: path %s, want %s", where, name, pr.HTTPGet.Path, want)
		case !hasPort(pr.HTTPGet.Port):
			p.add("%s: %s: port %s is not a port of the container", where, name, pr.HTTPGet.Port.String())
		}
	}
	checkProbe("readinessProbe", ct.ReadinessProbe, "/readyz")
	checkProbe("livenessProbe", ct.LivenessProbe, "/healthz")
	if ct.StartupProbe != nil {
		checkProbe("startupProbe", ct.StartupProbe, "/healthz")
	}

	mounts := map[string]bool{}
	for _, m := range ct.VolumeMounts {
		if _, ok := vols[m.Name]; !ok {
			p.add("%s: volumeMount %s: no such volume", where, m.Name)
		}
		if !m.ReadOnly {
			p.add("%s: volumeMount %s: mount it readOnly", where, m.Name)
		}
		mounts[m.Name] = true
	}
	for name := range vols {
		if !mounts[name] {
			p.add("%s: volume %s is not mounted", where, name)
		}
	}

	// What evidentd is told: config file, then environment, then
	// arguments, each overriding the one before, as in evidentd.
	settings := map[string][]string{}
	if len(ct.Command) > 0 {
		p.add("%s: command replaces the image's entrypoint (evidentd): give args only", where)
	}
	if len(ct.Args) == 0 || ct.Args[0] != "serve" {
		p.add("%s: args must start with serve", where)
	}
	var argVals map[string][]string
	if len(ct.Args) > 0 {
		var errs []error
		argVals, errs = flags.parseArgs(ct.Args[1:])
		for _, err := range errs {
			p.add("%s: args: %v", where, err)
		}
	}
	envVals := map[string][]string{}
	for _, e := range ct.Env {
		val, ok := c.envValue(p, where, e)
		if !strings.HasPrefix(e.Name, "EVIDENTD_") {
			continue
		}
		flag, known := flags.fromEnv(e.Name)
		if !known {
			p.add("%s: env %s: evidentd serve has no flag --%s", where, e.Name, flag)
			continue
		}
		if ok {
			envVals[flag] = strings.Split(val, ",")
		}
	}
	cfgFile := last(envVals["config"])
	if v := last(argVals["config"]); v != "" {
		cfgFile = v
	}
	if cfgFile != "" {
		content, err := c.fileIn(cfgFile, ct.VolumeMounts, vols)
		if err != nil {
			p.add("%s: config file: %v", where, err)
		} else {
			cfg, err := configFile(content, flags)
			if err != nil {
				p.add("%s: config file %s: %v", where, cfgFile, err)
			}
			for k, v := range cfg {
				settings[k] = v
			}
		}
	}
	for k, v := range envVals {
		settings[k] = v
	}
	for k, v := range argVals {
		settings[k] = v
	}

	// Every file evidentd is told to read is in a mounted volume.
	for _, f := range pathFlags {
		for _, file := range settings[f] {
			if _, err := c.fileIn(file, ct.VolumeMounts, vols); err != nil {
				p.add("%s: --%s: %v", where, f, err)
			}
		}
	}
	// Replicas share their stores and their log key.
	if cat := last(settings["catalog"]); !strings.HasPrefix(cat, "postgres://") && !strings.HasPrefix(cat, "postgresql://") {
		p.add("%s: the catalog must be postgres://... for replicas, not %q", where, cat)
	}
	if b := last(settings["blobs"]); !strings.HasPrefix(b, "s3://") {
		p.add("%s: the blob store must be s3://... for replicas, not %q", where, b)
	}
	if last(settings["log-key"]) == "" {
		p.add("%s: no --log-key: every replica would create a key of its own", where)
	}
	if len(settings["trusted-key"])+len(settings["trusted-identity"]) == 0 {
		p.add("%s: no --trusted-key or --trusted-identity: every push would be refused", where)
	}
	addr := last(settings["addr"])
	if addr == "" {
		p.add("%s: no --addr: the default 127.0.0.1:8080 cannot be reached from outside the pod", where)
	} else if port, err := listenPort(addr); err != nil {
		p.add("%s: %v", where, err)
	} else if !hasPort(intstr.FromInt32(int32(port))) {
		p.add("%s: --addr %s: port %d is not a containerPort", where, addr, port)
	}
}

func last(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// envValue checks an environment variable's reference and returns its
// value when it is known (a literal, or a Secret's or ConfigMap's key).
func (c *cluster) envValue(p *problems, where string, e corev1.EnvVar) (string, bool) {
	if e.ValueFrom == nil {
		return e.Value, true
	}
	switch ref := e.ValueFrom; {
	case ref.SecretKeyRef != nil:
		s := c.secrets[ref.SecretKeyRef.Name]
		if s == nil {
			p.add("%s: env %s: no Secret named %s", where, e.Name, ref.SecretKeyRef.Name)
			return "", false
		}
		v, ok := secretValue(s, ref.SecretKeyRef.Key)
		if !ok {
			p.add("%s: env %s: Secret %s has no key %q", where, e.Name, s.Name, ref.SecretKeyRef.Key)
		}
		return string(v), ok
	case ref.ConfigMapKeyRef != nil:
		cm := c.configMaps[ref.ConfigMapKeyRef.Name]
		if cm == nil {
			p.add("%s: env %s: no ConfigMap named %s", where, e.Name, ref.ConfigMapKeyRef.Name)
			return "", false
		}
		v, ok := configMapValue(cm, ref.ConfigMapKeyRef.Key)
		if !ok {
			p.add("%s: env %s: ConfigMap %s has no key %q", where, e.Name, cm.Name, ref.ConfigMapKeyRef.Key)
		}
		return string(v), ok
	}
	return "", false
}

// fileIn returns the content of the file at file inside the container: a
// key of the ConfigMap or Secret mounted at a directory above it.
func (c *cluster) fileIn(file string, mounts []corev1.VolumeMount, vols map[string]corev1.Volume) ([]byte, error) {
	var best *corev1.VolumeMount
	for i, m := range mounts {
		dir := strings.TrimSuffix(m.MountPath, "/")
		if strings.HasPrefix(file, dir+"/") && (best == nil || len(dir) > len(best.MountPath)) {
			best = &mounts[i]
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%s is in no mounted volume", file)
	}
	if best.SubPath != "" || best.SubPathExpr != "" {
		return nil, fmt.Errorf("%s: volumeMount %s uses subPath, which these tests do not follow", file, best.Name)
	}
	rel := strings.TrimPrefix(file, strings.TrimSuffix(best.MountPath, "/")+"/")
	v := vols[best.Name]
	keyOf := func(items []corev1.KeyToPath) (string, bool) {
		if len(items) == 0 {
			return rel, true
		}
		for _, it := range items {
			if path.Clean(it.Path) == rel {
				return it.Key, true
			}
		}
		return "", false
	}
	switch {
	case v.ConfigMap != nil:
		cm := c.configMaps[v.ConfigMap.Name]
		key, ok := keyOf(v.ConfigMap.Items)
		if cm == nil || !ok {
			return nil, fmt.Errorf("%s: volume %s does not have it", file, v.Name)
		}
		b, ok := configMapValue(cm, key)
		if !ok {
			return nil, fmt.Errorf("%s: ConfigMap %s has no key %q", file, cm.Name, key)
		}
		return b, nil
	case v.Secret != nil:
		s := c.secrets[v.Secret.SecretName]
		key, ok := keyOf(v.Secret.Items)
		if s == nil || !ok {
			return nil, fmt.Errorf("%s: volume %s does not have it", file, v.Name)
		}
		b, ok := secretValue(s, key)
		if !ok {
			return nil, fmt.Errorf("%s: Secret %s has no key %q", file, s.Name, key)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%s: volume %s is neither a ConfigMap nor a Secret", file, best.Name)
}

// configFile parses an evidentd config file and checks that each key is a
// flag of evidentd serve (or approvers, which only the file can give). It
// returns the values, lists as several values.
func configFile(content []byte, flags flagSet) (map[string][]string, error) {
	j, err := yaml.YAMLToJSONStrict(content)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(j, &raw); err != nil {
		return nil, fmt.Errorf("not a YAML mapping: %v", err)
	}
	vals := map[string][]string{}
	var errs []error
	for _, k := range sortedKeys(raw) {
		if k == "approvers" {
			continue
		}
		if !flags[k] || k == "config" {
			errs = append(errs, fmt.Errorf("key %q is not a flag of evidentd serve", k))
			continue
		}
		switch v := raw[k].(type) {
		case []any:
			for _, x := range v {
				vals[k] = append(vals[k], fmt.Sprint(x))
			}
		default:
			vals[k] = []string{fmt.Sprint(v)}
		}
	}
	return vals, errors.Join(errs...)
}

// selected returns the Deployments whose pods sel selects.
func (c *cluster) selected(sel labels.Selector) []*appsv1.Deployment {
	var ds []*appsv1.Deployment
	for _, name := range sortedKeys(c.deployments) {
		if d := c.deployments[name]; sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			ds = append(ds, d)
		}
	}
	return ds
}

func (c *cluster) checkService(p *problems, s *corev1.Service) {
	where := "Service " + s.Name
	if len(s.Spec.Selector) == 0 {
		p.add("%s: no selector", where)
		return
	}
	ds := c.selected(labels.SelectorFromSet(s.Spec.Selector))
	if len(ds) == 0 {
		p.add("%s: selector %v selects no Deployment's pods", where, s.Spec.Selector)
	}
	for _, sp := range s.Spec.Ports {
		target := sp.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(sp.Port)
		}
		for _, d := range ds {
			if !podHasPort(d.Spec.Template.Spec, target) {
				p.add("%s: port %s: targetPort %s is not a port of Deployment %s", where, sp.Name, target.String(), d.Name)
			}
		}
	}
}

func podHasPort(pod corev1.PodSpec, port intstr.IntOrString) bool {
	for _, ct := range pod.Containers {
		for _, cp := range ct.Ports {
			if (port.Type == intstr.String && cp.Name == port.StrVal) || (port.Type == intstr.Int && cp.ContainerPort == port.IntVal) {
				return true
			}
		}
	}
	return false
}

func (c *cluster) checkDisruptionBudget(p *problems, pdb *policyv1.PodDisruptionBudget) {
	where := "PodDisruptionBudget " + pdb.Name
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || sel.Empty() {
		p.add("%s: a selector is needed (%v)", where, err)
		return
	}
	ds := c.selected(sel)
	if len(ds) == 0 {
		p.add("%s: selector %s selects no Deployment's pods", where, sel)
	}
	if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
		p.add("%s: give minAvailable or maxUnavailable", where)
	}
	for _, d := range ds {
		if m := pdb.Spec.MinAvailable; m != nil && m.Type == intstr.Int && d.Spec.Replicas != nil && m.IntVal >= *d.Spec.Replicas {
			p.add("%s: minAvailable %d with %d replicas of %s: a node drain could never evict a pod", where, m.IntVal, *d.Spec.Replicas, d.Name)
		}
	}
}

// kubernetesFS returns the manifests directory, in memory, so that a test
// can change a file.
func kubernetesFS(t *testing.T) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	entries, err := os.ReadDir(kubernetesDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(path.Join(kubernetesDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fsys[e.Name()] = &fstest.MapFile{Data: b}
	}
	return fsys
}

func TestKubernetes(t *testing.T) {
	flags := serveFlags(t)
	c, err := loadCluster(os.DirFS(kubernetesDir))
	if err != nil {
		t.Fatalf("decoding the manifests:\n%v", err)
	}
	if errs := c.check(flags); len(errs) > 0 {
		t.Fatalf("%d problems:\n%s", len(errs), joinErrors(errs))
	}
	// What the issue asks for is there (and a deleted file is not "valid").
	if d := c.deployments["evidentd"]; d == nil || *d.Spec.Replicas != 2 {
		t.Error("want Deployment evidentd with 2 replicas")
	}
	for kind, n := range map[string]int{
		"Service": len(c.services), "ConfigMap": len(c.configMaps), "Secret": len(c.secrets),
		"PodDisruptionBudget": len(c.disruptions), "ServiceAccount": len(c.accounts), "Namespace": len(c.namespaces),
	} {
		if n != 1 {
			t.Errorf("%d %s objects, want 1", n, kind)
		}
	}
	// The Secret's files are readable by the pod's group (fsGroup) only:
	// YAML's 0440 must arrive as octal.
	vol := c.deployments["evidentd"].Spec.Template.Spec.Volumes
	i := slices.IndexFunc(vol, func(v corev1.Volume) bool { return v.Secret != nil })
	if i < 0 || *vol[i].Secret.DefaultMode != 0o440 {
		t.Errorf("the Secret volume's defaultMode is not 0440")
	}
}

// TestKubernetesBroken breaks the manifests one way at a time: each must
// fail, with the error saying what is wrong.
func TestKubernetesBroken(t *testing.T) {
	flags := serveFlags(t)
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{"unknown field", "deployment.yaml", "  replicas: 2\n", "  replicas: 2\n  replica: 2\n", `unknown field "spec.replica"`},
		{"field in the wrong case", "deployment.yaml", "containerPort: 8080", "containerport: 8080", `containerport`},
		{"duplicate field", "service.yaml", "  type: ClusterIP\n", "  type: ClusterIP\n  type: NodePort\n", `"type" already set`},
		{"wrong type", "deployment.yaml", "  replicas: 2\n", "  replicas: two\n", "replicas"},
		{"unknown kind", "service.yaml", "kind: Service\n", "kind: Servise\n", `kind "Servise": not a kind these tests know`},
		{"unknown apiVersion", "poddisruptionbudget.yaml", "apiVersion: policy/v1\n", "apiVersion: policy/v1beta1\n", "not a kind these tests know"},
		{"Service selects nothing", "service.yaml", "    app.kubernetes.io/component: archive\n", "    app.kubernetes.io/component: web\n", "selects no Deployment's pods"},
		{"Service target port", "service.yaml", "targetPort: http", "targetPort: https", "targetPort https is not a port"},
		{"Deployment selector", "deployment.yaml", "  selector:\n    matchLabels:\n      app.kubernetes.io/name: evidentd\n", "  selector:\n    matchLabels:\n      app.kubernetes.io/name: evidentd-x\n", "does not match the pod template's labels"},
		{"PodDisruptionBudget blocks drains", "poddisruptionbudget.yaml", "minAvailable: 1", "minAvailable: 2", "a node drain could never evict a pod"},
		{"PodDisruptionBudget selects nothing", "poddisruptionbudget.yaml", "app.kubernetes.io/name: evidentd\n      app", "app.kubernetes.io/name: evidentd2\n      app", "selects no Deployment's pods"},
		{"readiness path", "deployment.yaml", "path: /readyz", "path: /ready", "readinessProbe: path /ready, want /readyz"},
		{"Secret key", "deployment.yaml", "key: catalog-url", "key: catalog_url", `Secret evidentd-secrets has no key "catalog_url"`},
		{"Secret name", "deployment.yaml", "secretName: evidentd-secrets", "secretName: evidentd-secret", "no Secret named evidentd-secret"},
		{"ConfigMap name", "deployment.yaml", "name: evidentd-config", "name: evidentd-conf", "no ConfigMap named evidentd-conf"},
		{"unknown flag", "deployment.yaml", `"--addr=0.0.0.0:8080"`, `"--address=0.0.0.0:8080"`, "--address is not a flag of evidentd serve"},
		{"unknown EVIDENTD_ variable", "deployment.yaml", "name: EVIDENTD_CATALOG", "name: EVIDENTD_CATALOGUE", "evidentd serve has no flag --catalogue"},
		{"port not exposed", "deployment.yaml", `"--addr=0.0.0.0:8080"`, `"--addr=0.0.0.0:9090"`, "port 9090 is not a containerPort"},
		{"config key", "configmap.yaml", "    log-key: ", "    logkey: ", `key "logkey" is not a flag`},
		{"file not mounted", "configmap.yaml", "  release-signing.pub: |", "  release.pub: |", "release-signing.pub"},
		{"log key not mounted", "deployment.yaml", "path: log.key", "path: log-key", "/etc/evidentd/secret/log.key: volume secret does not have it"},
		{"Secret readable by all", "deployment.yaml", "defaultMode: 0440", "defaultMode: 0444", "readable by every user"},
		{"writable root filesystem", "deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
		{"capabilities kept", "deployment.yaml", `drop: ["ALL"]`, `drop: ["NET_RAW"]`, "capabilities"},
		{"root", "deployment.yaml", "        runAsNonRoot: true\n        runAsUser", "        runAsNonRoot: false\n        runAsUser", "runAsNonRoot: true"},
		{"no memory limit", "deployment.yaml", "            limits:\n              memory: 1Gi\n", "", "resources.limits needs memory"},
		{"resource not listed", "kustomization.yaml", "  - service.yaml\n", "", "service.yaml is not listed"},
		{"moving image tag", "kustomization.yaml", `newTag: "0.0.0"`, `newTag: latest`, "never latest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := kubernetesFS(t)
			fsys[tc.file].Data = []byte(replaceOnce(t, string(fsys[tc.file].Data), tc.old, tc.new))
			c, err := loadCluster(fsys)
			if err != nil {
				wantError(t, []error{err}, tc.want)
				return
			}
			wantError(t, c.check(flags), tc.want)
		})
	}
}

func TestSplitDocuments(t *testing.T) {
	in := "# a comment\n---\na: 1\n---  \nb: 2\n"
	docs := splitDocuments([]byte(in))
	if len(docs) != 3 || string(docs[1]) != "a: 1\n" || string(docs[2]) != "b: 2\n" {
		t.Fatalf("splitDocuments = %q", docs)
	}
	if obj, err := decodeManifest(docs[0]); obj != nil || err != nil {
		t.Errorf("a document of comments: %v, %v; want nothing", obj, err)
	}
}
