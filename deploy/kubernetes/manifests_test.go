// Package kubernetes_test checks the Kubernetes manifests beside it (and,
// lightly, deploy/docker-compose.yml) against the svahub binary, fully
// offline: every document is decoded strictly into its k8s.io/api type, and
// environment variable names, subcommands, ports and grace periods are
// compared with what cmd/svahub and internal/config really read.
package kubernetes_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/svahub/svahub/internal/config"
)

const (
	// namespace holds every namespaced object.
	namespace = "svahub"
	// image is the one image every svahub container runs.
	image = "ghcr.io/svahub/svahub:latest"
	// kustomizationFile lists the other manifests.
	kustomizationFile = "kustomization.yaml"
	// composeFile is the Docker Compose setup, validated lightly.
	composeFile = "../docker-compose.yml"
	// mainFile holds the subcommand switch of the svahub command.
	mainFile = "../../cmd/svahub/main.go"
	// dockerfile builds the image the manifests run.
	dockerfile = "../../Dockerfile"
	// operationsDoc holds the configuration table generated from
	// config.Variables().
	operationsDoc = "../../docs/operations.md"
)

// newObject maps "apiVersion/kind" to the Go type a document decodes into.
// A kind missing here fails the test: add its type rather than skip it.
var newObject = map[string]func() any{
	"v1/Namespace":                           func() any { return new(corev1.Namespace) },
	"v1/ServiceAccount":                      func() any { return new(corev1.ServiceAccount) },
	"v1/Secret":                              func() any { return new(corev1.Secret) },
	"v1/ConfigMap":                           func() any { return new(corev1.ConfigMap) },
	"v1/Service":                             func() any { return new(corev1.Service) },
	"apps/v1/Deployment":                     func() any { return new(appsv1.Deployment) },
	"batch/v1/Job":                           func() any { return new(batchv1.Job) },
	"policy/v1/PodDisruptionBudget":          func() any { return new(policyv1.PodDisruptionBudget) },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
}

// manifest is one decoded YAML document.
type manifest struct {
	File       string
	Index      int // 0-based document index within File
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	Obj        any
}

func (m manifest) String() string {
	return fmt.Sprintf("%s[%d] %s %s", m.File, m.Index, m.Kind, m.Name)
}

// manifests is the decoded content of every *.yaml file but the
// kustomization, in file order.
type manifests struct {
	all         []manifest
	files       []string // the *.yaml files other than kustomization.yaml
	deployments []*appsv1.Deployment
	jobs        []*batchv1.Job
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	services    []*corev1.Service
	pdbs        []*policyv1.PodDisruptionBudget
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
}

// workload is a pod template with the object that owns it.
type workload struct {
	Kind, Name string
	Spec       *corev1.PodSpec
	Labels     map[string]string
}

func (w workload) String() string { return w.Kind + " " + w.Name }

func (ms *manifests) workloads() []workload {
	var out []workload
	for _, d := range ms.deployments {
		out = append(out, workload{"Deployment", d.Name, &d.Spec.Template.Spec, d.Spec.Template.Labels})
	}
	for _, j := range ms.jobs {
		out = append(out, workload{"Job", j.Name, &j.Spec.Template.Spec, j.Spec.Template.Labels})
	}
	return out
}

var loadManifests = sync.OnceValues(func() (*manifests, error) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		return nil, err
	}
	ms := &manifests{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	var errs []error
	for _, f := range files {
		if f == kustomizationFile {
			continue
		}
		ms.files = append(ms.files, f)
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for i, doc := range splitDocuments(b) {
			m, err := decodeManifest(f, i, doc)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if m == nil { // only comments
				continue
			}
			ms.all = append(ms.all, *m)
			switch o := m.Obj.(type) {
			case *appsv1.Deployment:
				ms.deployments = append(ms.deployments, o)
			case *batchv1.Job:
				ms.jobs = append(ms.jobs, o)
			case *corev1.ConfigMap:
				ms.configMaps[o.Name] = o
			case *corev1.Secret:
				ms.secrets[o.Name] = o
			case *corev1.Service:
				ms.services = append(ms.services, o)
			case *policyv1.PodDisruptionBudget:
				ms.pdbs = append(ms.pdbs, o)
			case *autoscalingv2.HorizontalPodAutoscaler:
				ms.hpas = append(ms.hpas, o)
			}
		}
	}
	return ms, errors.Join(errs...)
})

func load(t *testing.T) *manifests {
	t.Helper()
	ms, err := loadManifests()
	if err != nil {
		t.Fatalf("decoding the manifests:\n%v", err)
	}
	return ms
}

// splitDocuments splits a multi-document YAML stream on its "---" lines
// (the "\n---" separators; a separator may carry a trailing comment).
func splitDocuments(b []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	for line := range strings.Lines(string(b)) {
		if l := strings.TrimRight(line, "\r\n"); l == "---" || strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "---\t") {
			docs = append(docs, bytes.Clone(cur.Bytes()))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.Bytes())
}

// decodeStrict converts one YAML document to JSON (duplicate keys are an
// error) and decodes it into v, failing on any field v's type does not
// have, on a field spelled with the wrong case (encoding/json matches names
// case-insensitively, the API server does not) and on trailing data.
func decodeStrict(doc []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the document")
	}
	return checkFieldCase(j, v)
}

// checkFieldCase reports a key of the original JSON that reached the typed
// value only through encoding/json's case-insensitive matching.
func checkFieldCase(original []byte, v any) error {
	round, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var a, b any
	if err := json.Unmarshal(original, &a); err != nil {
		return err
	}
	if err := json.Unmarshal(round, &b); err != nil {
		return err
	}
	want := map[string]bool{}
	collectPaths(a, "", want)
	got := map[string]bool{}
	collectPaths(b, "", got)
	lower := map[string]string{}
	for p := range got {
		lower[strings.ToLower(p)] = p
	}
	var errs []error
	for p := range want {
		if got[p] {
			continue
		}
		if exact, ok := lower[strings.ToLower(p)]; ok {
			errs = append(errs, fmt.Errorf("field %s is spelled %s in the API", p, exact))
		}
		// Otherwise the field held its zero value and was omitted on the
		// way back (omitempty): nothing to say.
	}
	return errors.Join(errs...)
}

func collectPaths(v any, prefix string, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := prefix + "." + k
			into[p] = true
			collectPaths(e, p, into)
		}
	case []any:
		for _, e := range x {
			collectPaths(e, prefix+"[]", into)
		}
	}
}

// typeMeta is the part of every document read before its type is known.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// decodeManifest decodes one document into its k8s.io/api type; nil when
// the document holds only comments.
func decodeManifest(file string, index int, doc []byte) (*manifest, error) {
	where := fmt.Sprintf("%s[%d]", file, index)
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if string(bytes.TrimSpace(j)) == "null" {
		return nil, nil
	}
	var tm typeMeta
	if err := json.Unmarshal(j, &tm); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	mk, ok := newObject[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return nil, fmt.Errorf("%s: no Go type registered for apiVersion %q kind %q (add it to newObject)", where, tm.APIVersion, tm.Kind)
	}
	obj := mk()
	if err := decodeStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s (%s): %w", where, tm.Kind, err)
	}
	m := &manifest{File: file, Index: index, APIVersion: tm.APIVersion, Kind: tm.Kind, Obj: obj}
	md := objectMeta(obj)
	m.Name, m.Namespace = md.Name, md.Namespace
	return m, nil
}

// meta is the metadata of a registered type.
type meta struct {
	Name, Namespace string
	Labels          map[string]string
}

// objectMeta returns the metadata of the registered types (all embed
// metav1.ObjectMeta).
func objectMeta(obj any) meta {
	type metaGetter interface {
		GetName() string
		GetNamespace() string
		GetLabels() map[string]string
	}
	g, ok := obj.(metaGetter)
	if !ok {
		return meta{}
	}
	return meta{Name: g.GetName(), Namespace: g.GetNamespace(), Labels: g.GetLabels()}
}

// knownVariables are the environment variables the binary reads, from
// config.Variables() (built from the Config struct tags).
func knownVariables(t *testing.T) map[string]config.Variable {
	t.Helper()
	vars := map[string]config.Variable{}
	for _, v := range config.Variables() {
		vars[v.Name] = v
	}
	if len(vars) == 0 {
		t.Fatal("config.Variables() is empty")
	}
	return vars
}

// subcommands returns the commands of the svahub binary, read from the
// switch on cmd in run() of cmd/svahub/main.go, with the flag names each
// one's FlagSet defines.
func subcommands(t *testing.T) map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, mainFile, nil, 0)
	if err != nil {
		t.Fatalf("parsing %s: %v", mainFile, err)
	}
	cmds := map[string][]string{}
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "run" {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			sw, ok := n.(*ast.SwitchStmt)
			if !ok {
				return true
			}
			if id, ok := sw.Tag.(*ast.Ident); !ok || id.Name != "cmd" {
				return true
			}
			for _, st := range sw.Body.List {
				cc := st.(*ast.CaseClause)
				for _, e := range cc.List {
					lit, ok := e.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					name, _ := strconv.Unquote(lit.Value)
					cmds[name] = flagNames(cc.Body)
				}
			}
			return false
		})
	}
	delete(cmds, "help")
	if len(cmds) == 0 {
		t.Fatalf("no subcommands found in the switch on cmd in run() of %s", mainFile)
	}
	return cmds
}

// flagNames lists the names of fs.Bool("name", …)-style flag definitions.
func flagNames(body []ast.Stmt) []string {
	var names []string
	for _, st := range body {
		ast.Inspect(st, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch sel.Sel.Name {
			case "Bool", "String", "Int", "Int64", "Uint", "Uint64", "Float64", "Duration":
			default:
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if name, err := strconv.Unquote(lit.Value); err == nil {
					names = append(names, name)
				}
			}
			return true
		})
	}
	return names
}

// checkArgs reports whether args are a subcommand of the binary followed
// by flags that subcommand defines, as --name or --name=value.
func checkArgs(args []string, cmds map[string][]string) error {
	if len(args) == 0 {
		return errors.New("no args: the image's default CMD would run; name the subcommand")
	}
	flags, ok := cmds[args[0]]
	if !ok {
		return fmt.Errorf("%q is not a svahub subcommand (have %v)", args[0], slices.Sorted(maps.Keys(cmds)))
	}
	if args[0] == "apikey" {
		return errors.New("apikey is an interactive one-off, not a workload")
	}
	for _, a := range args[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || !slices.Contains(flags, name) {
			return fmt.Errorf("%q is not a flag of svahub %s (flags: %v)", a, args[0], flags)
		}
	}
	return nil
}

// envSource is what one container sees in its environment.
type envSource struct {
	values map[string]string // known literal values (ConfigMap data, env value)
	names  map[string]string // every name → where it comes from
}

// containerEnv resolves envFrom and env of a container against the
// ConfigMaps and Secrets of the manifests.
func (ms *manifests) containerEnv(c corev1.Container) (envSource, []error) {
	src := envSource{values: map[string]string{}, names: map[string]string{}}
	var errs []error
	for _, ef := range c.EnvFrom {
		if ef.Prefix != "" {
			errs = append(errs, fmt.Errorf("envFrom prefix %q renames the variables", ef.Prefix))
		}
		switch {
		case ef.ConfigMapRef != nil:
			cm, ok := ms.configMaps[ef.ConfigMapRef.Name]
			if !ok {
				errs = append(errs, fmt.Errorf("envFrom ConfigMap %q is not in the manifests", ef.ConfigMapRef.Name))
				continue
			}
			for k, v := range cm.Data {
				src.values[k] = v
				src.names[k] = "ConfigMap " + cm.Name
			}
		case ef.SecretRef != nil:
			s, ok := ms.secrets[ef.SecretRef.Name]
			if !ok {
				errs = append(errs, fmt.Errorf("envFrom Secret %q is not in the manifests", ef.SecretRef.Name))
				continue
			}
			for _, k := range secretKeys(s) {
				delete(src.values, k)
				src.names[k] = "Secret " + s.Name
			}
		}
	}
	for _, e := range c.Env {
		src.names[e.Name] = "env"
		if e.ValueFrom == nil {
			src.values[e.Name] = e.Value
		} else {
			delete(src.values, e.Name)
		}
	}
	return src, errs
}

// secretKeys lists the keys of a Secret's data and stringData.
func secretKeys(s *corev1.Secret) []string {
	keys := slices.Collect(maps.Keys(s.StringData))
	for k := range s.Data {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// secretValue returns a key's value from stringData or data.
func secretValue(s *corev1.Secret, key string) (string, bool) {
	if v, ok := s.StringData[key]; ok {
		return v, true
	}
	v, ok := s.Data[key]
	return string(v), ok
}

// effective returns a variable's value in a container: its literal value,
// or the binary's default when the container does not set it.
func effective(t *testing.T, src envSource, name string) string {
	t.Helper()
	if v, ok := src.values[name]; ok {
		return v
	}
	if from, ok := src.names[name]; ok {
		t.Fatalf("%s comes from %s; this check needs a literal value", name, from)
	}
	v, ok := knownVariables(t)[name]
	if !ok {
		t.Fatalf("%s is not a variable of config.Variables()", name)
	}
	return v.Default
}

// svahubContainers are the containers that run the svahub image.
func svahubContainers(spec *corev1.PodSpec) []corev1.Container {
	return slices.Concat(spec.InitContainers, spec.Containers)
}

func labelsMatch(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// resolvePort turns a probe or Service target port into a container port.
func resolvePort(p intstr.IntOrString, c corev1.Container) (int32, error) {
	if p.Type == intstr.Int {
		for _, cp := range c.Ports {
			if cp.ContainerPort == p.IntVal {
				return p.IntVal, nil
			}
		}
		return 0, fmt.Errorf("port %d is not a containerPort of %s", p.IntVal, c.Name)
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort, nil
		}
	}
	return 0, fmt.Errorf("port name %q is not a containerPort of %s", p.StrVal, c.Name)
}

// role is what a svahub container does, from its first arg.
func role(c corev1.Container) string {
	if len(c.Args) == 0 {
		return ""
	}
	return c.Args[0]
}

func TestManifestsDecodeStrictly(t *testing.T) {
	t.Parallel()
	ms := load(t)
	if len(ms.all) == 0 {
		t.Fatal("no manifests found")
	}
	seen := map[string]string{}
	haveNamespace := false
	for _, m := range ms.all {
		if m.Name == "" {
			t.Errorf("%s: metadata.name is empty", m)
		}
		key := m.Kind + "/" + m.Name
		if prev, dup := seen[key]; dup {
			t.Errorf("%s: %s is also defined in %s", m, key, prev)
		}
		seen[key] = m.String()
		if m.Kind == "Namespace" {
			haveNamespace = haveNamespace || m.Name == namespace
			continue
		}
		if m.Namespace != namespace {
			t.Errorf("%s: metadata.namespace is %q, want %q", m, m.Namespace, namespace)
		}
		if got := objectMeta(m.Obj).Labels["app.kubernetes.io/name"]; got != "svahub" {
			t.Errorf("%s: label app.kubernetes.io/name is %q, want svahub", m, got)
		}
	}
	if !haveNamespace {
		t.Errorf("no Namespace %q in the manifests", namespace)
	}
}

// TestStrictDecodingCatchesMistakes proves the decoder is strict, so the
// other tests are not vacuous.
func TestStrictDecodingCatchesMistakes(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"unknown field":  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicass: 2}\n",
		"wrong case":     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {Replicas: 2}\n",
		"duplicate key":  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: 2, replicas: 3}\n",
		"wrong type":     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: two}\n",
		"nested unknown": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80, targetport: 8080}]}\n",
		"unknown kind":   "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
	} {
		if _, err := decodeManifest("test.yaml", 0, []byte(doc)); err == nil {
			t.Errorf("%s: decoded without error:\n%s", name, doc)
		}
	}
	docs := splitDocuments([]byte("a: 1\n---\nb: 2\n--- # comment\nc: 3\n"))
	if len(docs) != 3 || string(docs[2]) != "c: 3\n" {
		t.Errorf("splitDocuments: got %q", docs)
	}
}

// kustomization is the subset of kustomize's Kustomization these manifests
// use; decoding it strictly makes any other field fail until it is added
// here deliberately.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

func TestKustomizationListsEveryFile(t *testing.T) {
	t.Parallel()
	ms := load(t)
	b, err := os.ReadFile(kustomizationFile)
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := decodeStrict(b, &k); err != nil {
		t.Fatalf("%s: %v", kustomizationFile, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("%s: apiVersion/kind %s/%s", kustomizationFile, k.APIVersion, k.Kind)
	}
	if k.Namespace != "" && k.Namespace != namespace {
		t.Errorf("%s: namespace %q, want %q", kustomizationFile, k.Namespace, namespace)
	}
	listed := map[string]bool{}
	for _, r := range k.Resources {
		if listed[r] {
			t.Errorf("%s: %s listed twice", kustomizationFile, r)
		}
		listed[r] = true
		if !slices.Contains(ms.files, r) {
			t.Errorf("%s: resource %s is not a manifest file in this directory", kustomizationFile, r)
		}
	}
	for _, f := range ms.files {
		if !listed[f] {
			t.Errorf("%s does not list %s", kustomizationFile, f)
		}
	}
	repo, tag, _ := strings.Cut(image, ":")
	for _, img := range k.Images {
		if img.Name != repo {
			t.Errorf("%s: images entry %q does not name the svahub image %q", kustomizationFile, img.Name, repo)
		}
		if img.NewName != "" || (img.NewTag != "" && img.NewTag != tag) || img.Digest != "" {
			t.Errorf("%s: images entry %+v: keep the placeholder %s consistent with the manifests", kustomizationFile, img, image)
		}
	}
}

func TestImageConsistent(t *testing.T) {
	t.Parallel()
	ms := load(t)
	n := 0
	for _, w := range ms.workloads() {
		for _, c := range svahubContainers(w.Spec) {
			n++
			if c.Image != image {
				t.Errorf("%s container %s: image %q, want %q", w, c.Name, c.Image, image)
			}
			if len(c.Command) > 0 {
				t.Errorf("%s container %s: command %q replaces the image's svahub entrypoint; use args", w, c.Name, c.Command)
			}
			if c.ImagePullPolicy == corev1.PullNever {
				t.Errorf("%s container %s: imagePullPolicy Never", w, c.Name)
			}
		}
	}
	if n == 0 {
		t.Fatal("no containers found")
	}
}

// dockerfileUser is the numeric user of the image's last USER line.
func dockerfileUser(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var user string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "USER "); ok {
			user, _, _ = strings.Cut(strings.TrimSpace(rest), ":")
		}
	}
	uid, err := strconv.ParseInt(user, 10, 64)
	if err != nil {
		t.Fatalf("%s: USER %q is not numeric", dockerfile, user)
	}
	return uid
}

func TestPodsHardened(t *testing.T) {
	t.Parallel()
	ms := load(t)
	uid := dockerfileUser(t)
	for _, w := range ms.workloads() {
		s := w.Spec
		psc := s.SecurityContext
		switch {
		case psc == nil:
			t.Errorf("%s: no pod securityContext", w)
			continue
		case psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot:
			t.Errorf("%s: pod runAsNonRoot is not true", w)
		case psc.RunAsUser == nil || *psc.RunAsUser != uid:
			t.Errorf("%s: pod runAsUser is not %d (the Dockerfile's USER)", w, uid)
		case psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
			t.Errorf("%s: pod seccompProfile is not RuntimeDefault", w)
		}
		if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
			t.Errorf("%s: automountServiceAccountToken should be false (svahub does not call the Kubernetes API)", w)
		}
		if s.HostNetwork || s.HostPID || s.HostIPC {
			t.Errorf("%s: uses host namespaces", w)
		}
		for _, c := range svahubContainers(s) {
			where := fmt.Sprintf("%s container %s", w, c.Name)
			sc := c.SecurityContext
			if sc == nil {
				t.Errorf("%s: no securityContext", where)
				continue
			}
			if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
				t.Errorf("%s: runAsNonRoot false", where)
			}
			if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
				t.Errorf("%s: runAsUser 0", where)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s: allowPrivilegeEscalation is not false", where)
			}
			if sc.Privileged != nil && *sc.Privileged {
				t.Errorf("%s: privileged", where)
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("%s: readOnlyRootFilesystem is not true", where)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
				t.Errorf("%s: capabilities must drop ALL and add none", where)
			}
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, okReq := c.Resources.Requests[r]
				lim, okLim := c.Resources.Limits[r]
				switch {
				case !okReq || req.IsZero():
					t.Errorf("%s: no %s request", where, r)
				case !okLim || lim.IsZero():
					t.Errorf("%s: no %s limit", where, r)
				case req.Cmp(lim) > 0:
					t.Errorf("%s: %s request %s above limit %s", where, r, req.String(), lim.String())
				}
			}
		}
	}
}

func TestEnvNamesAreReadByTheBinary(t *testing.T) {
	t.Parallel()
	ms := load(t)
	known := knownVariables(t)
	secretOnly := []string{"SVAHUB_SECRET_KEY", "SVAHUB_SECRET_KEY_PREVIOUS", "SVAHUB_DATABASE_URL"}
	for _, cm := range ms.configMaps {
		for k := range cm.Data {
			if _, ok := known[k]; !ok {
				t.Errorf("ConfigMap %s: %s is not read by svahub (config.Variables())", cm.Name, k)
			}
			if slices.Contains(secretOnly, k) {
				t.Errorf("ConfigMap %s: %s is a secret; keep it in the Secret", cm.Name, k)
			}
		}
		if len(cm.BinaryData) > 0 {
			t.Errorf("ConfigMap %s: binaryData is not environment", cm.Name)
		}
	}
	for _, s := range ms.secrets {
		for _, k := range secretKeys(s) {
			if _, ok := known[k]; !ok {
				t.Errorf("Secret %s: %s is not read by svahub (config.Variables())", s.Name, k)
			}
		}
	}
	for _, w := range ms.workloads() {
		for _, c := range svahubContainers(w.Spec) {
			src, errs := ms.containerEnv(c)
			for _, err := range errs {
				t.Errorf("%s container %s: %v", w, c.Name, err)
			}
			for name, from := range src.names {
				if _, ok := known[name]; !ok {
					t.Errorf("%s container %s: %s (from %s) is not read by svahub", w, c.Name, name, from)
				}
			}
			for _, need := range []string{"SVAHUB_SECRET_KEY", "SVAHUB_DATABASE_URL"} {
				if from := src.names[need]; !strings.HasPrefix(from, "Secret ") {
					t.Errorf("%s container %s: %s should come from a Secret, got %q", w, c.Name, need, from)
				}
			}
			if w.Spec.EnableServiceLinks == nil || *w.Spec.EnableServiceLinks {
				t.Errorf("%s: enableServiceLinks should be false, or Kubernetes adds SVAHUB_API_* variables to the SVAHUB_ namespace", w)
			}
		}
	}
}

// testKey is a syntactically valid SVAHUB_SECRET_KEY for load checks.
var testKey = base64.StdEncoding.EncodeToString(make([]byte, 32))

// TestConfigurationLoads runs every container's environment through
// config.LoadFrom, the binary's own validation, with a valid key in place
// of the placeholder; and checks the placeholder itself cannot be used.
func TestConfigurationLoads(t *testing.T) {
	t.Parallel()
	ms := load(t)
	for _, w := range ms.workloads() {
		for _, c := range svahubContainers(w.Spec) {
			where := fmt.Sprintf("%s container %s", w, c.Name)
			src, _ := ms.containerEnv(c)
			environ := maps.Clone(src.values)
			for _, ef := range c.EnvFrom {
				if ef.SecretRef == nil {
					continue
				}
				if s, ok := ms.secrets[ef.SecretRef.Name]; ok {
					for _, k := range secretKeys(s) {
						environ[k], _ = secretValue(s, k)
					}
				}
			}
			if _, err := config.LoadFrom(environ); err == nil || !strings.Contains(err.Error(), "SVAHUB_SECRET_KEY") {
				t.Errorf("%s: the placeholder SVAHUB_SECRET_KEY must be rejected by the binary, got err=%v", where, err)
			}
			environ["SVAHUB_SECRET_KEY"] = testKey
			cfg, err := config.LoadFrom(environ)
			if err != nil {
				t.Errorf("%s: the binary rejects this configuration:\n%v", where, err)
				continue
			}
			if cfg.Dialect != config.DialectPostgres {
				t.Errorf("%s: SVAHUB_DATABASE_URL selects %s; replicas need a shared PostgreSQL", where, cfg.Dialect)
			}
		}
	}
}

func TestSecretHoldsKeyAndDatabase(t *testing.T) {
	t.Parallel()
	ms := load(t)
	s, ok := ms.secrets["svahub"]
	if !ok {
		t.Fatal("no Secret svahub")
	}
	if s.Type != "" && s.Type != corev1.SecretTypeOpaque {
		t.Errorf("Secret svahub: type %s, want Opaque", s.Type)
	}
	for _, k := range []string{"SVAHUB_SECRET_KEY", "SVAHUB_DATABASE_URL"} {
		if v, ok := secretValue(s, k); !ok || v == "" {
			t.Errorf("Secret svahub has no %s", k)
		} else if !strings.Contains(v, "CHANGE-ME") {
			t.Errorf("Secret svahub: %s should be a placeholder marked CHANGE-ME, not a real value", k)
		}
	}
}

func TestArgsAreSubcommands(t *testing.T) {
	t.Parallel()
	ms := load(t)
	cmds := subcommands(t)
	for _, want := range []string{"serve", "worker", "migrate"} {
		if _, ok := cmds[want]; !ok {
			t.Fatalf("%s has no %q subcommand (found %v)", mainFile, want, slices.Sorted(maps.Keys(cmds)))
		}
	}
	roles := map[string]int{}
	for _, w := range ms.workloads() {
		for _, c := range svahubContainers(w.Spec) {
			where := fmt.Sprintf("%s container %s", w, c.Name)
			if err := checkArgs(c.Args, cmds); err != nil {
				t.Errorf("%s: args %q: %v", where, c.Args, err)
				continue
			}
			roles[role(c)]++
			// serve and worker run until stopped; migrate exits.
			switch w.Kind {
			case "Deployment":
				if r := role(c); r != "serve" && r != "worker" {
					t.Errorf("%s: a Deployment must run serve or worker, not %q (it would exit and restart forever)", where, r)
				}
			case "Job":
				if r := role(c); r == "serve" || r == "worker" {
					t.Errorf("%s: a Job must run a command that exits, not %q", where, r)
				}
				if w.Name == "svahub-migrate" && role(c) != "migrate" {
					t.Errorf("%s: args %q, want [migrate]", where, c.Args)
				}
			}
		}
	}
	api := deployment(t, ms, "svahub-api")
	if got := api.Spec.Template.Spec.Containers[0].Args; !slices.Equal(got, []string{"serve", "--workers=false"}) {
		t.Errorf("svahub-api: args %q, want [serve --workers=false] (workers run in svahub-worker)", got)
	}
	worker := deployment(t, ms, "svahub-worker")
	if got := worker.Spec.Template.Spec.Containers[0].Args; !slices.Equal(got, []string{"worker"}) {
		t.Errorf("svahub-worker: args %q, want [worker]", got)
	}
	for _, r := range []string{"serve", "worker", "migrate"} {
		if roles[r] == 0 {
			t.Errorf("no container runs svahub %s", r)
		}
	}
}

func deployment(t *testing.T, ms *manifests, name string) *appsv1.Deployment {
	t.Helper()
	for _, d := range ms.deployments {
		if d.Name == name {
			if len(d.Spec.Template.Spec.Containers) != 1 {
				t.Fatalf("Deployment %s: want one container, have %d", name, len(d.Spec.Template.Spec.Containers))
			}
			return d
		}
	}
	t.Fatalf("no Deployment %s", name)
	return nil
}

// listenPort is the port of a container's SVAHUB_ADDR.
func listenPort(t *testing.T, ms *manifests, c corev1.Container) int32 {
	t.Helper()
	src, _ := ms.containerEnv(c)
	addr := effective(t, src, "SVAHUB_ADDR")
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("SVAHUB_ADDR %q: %v", addr, err)
	}
	p, err := strconv.ParseInt(port, 10, 32)
	if err != nil || p == 0 {
		t.Fatalf("SVAHUB_ADDR %q: needs a fixed port", addr)
	}
	return int32(p)
}

func TestProbesAndPorts(t *testing.T) {
	t.Parallel()
	ms := load(t)
	for _, d := range ms.deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			where := fmt.Sprintf("Deployment %s container %s", d.Name, c.Name)
			if role(c) != "serve" && role(c) != "worker" {
				// svahub migrate listens on nothing: an HTTP or TCP probe
				// would fail forever and restart the pod. (serve and worker
				// both serve /healthz, /readyz and /metrics on SVAHUB_ADDR.)
				for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
					if p != nil && p.Exec == nil {
						t.Errorf("%s: %s probe, but svahub %s serves no HTTP", where, name, role(c))
					}
				}
				if len(c.Ports) > 0 {
					t.Errorf("%s: declares ports, but svahub %s listens on none", where, role(c))
				}
				continue
			}
			port := listenPort(t, ms, c)
			if _, err := resolvePort(intstr.FromInt32(port), c); err != nil {
				t.Errorf("%s: SVAHUB_ADDR port %d is not a containerPort", where, port)
			}
			check := func(name string, p *corev1.Probe, paths ...string) {
				t.Helper()
				if p == nil || p.HTTPGet == nil {
					t.Errorf("%s: no HTTP %s probe", where, name)
					return
				}
				if !slices.Contains(paths, p.HTTPGet.Path) {
					t.Errorf("%s: %s probe path %q, want %v", where, name, p.HTTPGet.Path, paths)
				}
				if p.HTTPGet.Scheme != "" && p.HTTPGet.Scheme != corev1.URISchemeHTTP {
					t.Errorf("%s: %s probe scheme %s; svahub serves plain HTTP", where, name, p.HTTPGet.Scheme)
				}
				if got, err := resolvePort(p.HTTPGet.Port, c); err != nil || got != port {
					t.Errorf("%s: %s probe port %s is not the API port %d (%v)", where, name, p.HTTPGet.Port.String(), port, err)
				}
				if p.TimeoutSeconds == 0 && name == "readiness" {
					t.Errorf("%s: readiness timeoutSeconds defaults to 1 s; /readyz may take up to 2 s", where)
				}
			}
			check("liveness", c.LivenessProbe, "/healthz")
			check("readiness", c.ReadinessProbe, "/readyz")
			if c.StartupProbe != nil {
				check("startup", c.StartupProbe, "/healthz", "/readyz")
			}

			// A Service must reach this port, and only API pods.
			found := false
			for _, s := range ms.services {
				if !labelsMatch(s.Spec.Selector, d.Spec.Template.Labels) {
					continue
				}
				found = true
				for _, sp := range s.Spec.Ports {
					tp := sp.TargetPort
					if tp.Type == intstr.Int && tp.IntVal == 0 {
						tp = intstr.FromInt32(sp.Port)
					}
					if got, err := resolvePort(tp, c); err != nil || got != port {
						t.Errorf("Service %s: targetPort %s does not reach the API port %d (%v)", s.Name, tp.String(), port, err)
					}
				}
				for _, other := range ms.deployments {
					if other.Name != d.Name && labelsMatch(s.Spec.Selector, other.Spec.Template.Labels) {
						t.Errorf("Service %s also selects the pods of Deployment %s", s.Name, other.Name)
					}
				}
			}
			if !found {
				t.Errorf("%s: no Service selects its pods", where)
			}
		}
	}
}

// stopMargin is what svahub may take past SVAHUB_SHUTDOWN_GRACE to stop:
// the workers' cancel-and-wait step.
const stopMargin = 5 * time.Second

func TestGracePeriodCoversShutdown(t *testing.T) {
	t.Parallel()
	ms := load(t)
	for _, d := range ms.deployments {
		spec := d.Spec.Template.Spec
		grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
		if spec.TerminationGracePeriodSeconds != nil {
			grace = *spec.TerminationGracePeriodSeconds
		}
		for _, c := range spec.Containers {
			src, _ := ms.containerEnv(c)
			raw := effective(t, src, "SVAHUB_SHUTDOWN_GRACE")
			shutdown, err := time.ParseDuration(raw)
			if err != nil {
				t.Fatalf("Deployment %s: SVAHUB_SHUTDOWN_GRACE %q: %v", d.Name, raw, err)
			}
			// After SVAHUB_SHUTDOWN_GRACE the engine cancels the jobs still
			// running and waits up to 5 s more (provision.Engine.Stop).
			need := shutdown + stopMargin
			if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
				if c.Lifecycle.PreStop.Sleep == nil {
					t.Errorf("Deployment %s: preStop other than sleep (the image has no shell)", d.Name)
				} else {
					need += time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
				}
			}
			if time.Duration(grace)*time.Second <= need {
				t.Errorf("Deployment %s: terminationGracePeriodSeconds %d must exceed SVAHUB_SHUTDOWN_GRACE %s plus preStop and the %s stop margin (%s)", d.Name, grace, shutdown, stopMargin, need)
			}
		}
	}
}

func TestDisruptionBudgetsAndAutoscaler(t *testing.T) {
	t.Parallel()
	ms := load(t)
	covered := map[string]bool{}
	for _, p := range ms.pdbs {
		if p.Spec.Selector == nil || len(p.Spec.Selector.MatchExpressions) > 0 {
			t.Errorf("PodDisruptionBudget %s: use selector.matchLabels only", p.Name)
			continue
		}
		var targets []*appsv1.Deployment
		for _, d := range ms.deployments {
			if labelsMatch(p.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
				targets = append(targets, d)
			}
		}
		if len(targets) != 1 {
			t.Errorf("PodDisruptionBudget %s: selects the pods of %d Deployments, want exactly 1", p.Name, len(targets))
			continue
		}
		d := targets[0]
		covered[d.Name] = true
		if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.String() != "1" || p.Spec.MaxUnavailable != nil {
			t.Errorf("PodDisruptionBudget %s: want minAvailable 1 (and no maxUnavailable)", p.Name)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas <= 1 {
			t.Errorf("PodDisruptionBudget %s: Deployment %s needs more than 1 replica or the budget blocks every node drain", p.Name, d.Name)
		}
	}
	for _, d := range ms.deployments {
		if !covered[d.Name] {
			t.Errorf("Deployment %s has no PodDisruptionBudget", d.Name)
		}
		if d.Spec.Selector == nil || !labelsMatch(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
			t.Errorf("Deployment %s: selector does not match its pod labels", d.Name)
		}
	}

	if len(ms.hpas) == 0 {
		t.Fatal("no HorizontalPodAutoscaler")
	}
	for _, h := range ms.hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" {
			t.Errorf("HPA %s: scaleTargetRef %s/%s, want apps/v1 Deployment", h.Name, ref.APIVersion, ref.Kind)
			continue
		}
		d := deployment(t, ms, ref.Name)
		if ref.Name != "svahub-api" {
			t.Errorf("HPA %s: scales %s; only the API is CPU-bound (workers wait on the platforms)", h.Name, ref.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != 2 || h.Spec.MaxReplicas != 10 {
			t.Errorf("HPA %s: want minReplicas 2, maxReplicas 10", h.Name)
		}
		if d.Spec.Replicas != nil && h.Spec.MinReplicas != nil && *d.Spec.Replicas < *h.Spec.MinReplicas {
			t.Errorf("HPA %s: Deployment replicas %d below minReplicas", h.Name, *d.Spec.Replicas)
		}
		cpu70 := false
		for _, m := range h.Spec.Metrics {
			if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
				m.Resource.Target.Type == autoscalingv2.UtilizationMetricType && m.Resource.Target.AverageUtilization != nil &&
				*m.Resource.Target.AverageUtilization == 70 {
				cpu70 = true
			}
		}
		if !cpu70 {
			t.Errorf("HPA %s: want a CPU utilization target of 70%%", h.Name)
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if q, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok || q.Cmp(resource.MustParse("0")) <= 0 {
				t.Errorf("HPA %s: container %s has no CPU request, so utilization is undefined", h.Name, c.Name)
			}
		}
	}
}

func TestMigrateJob(t *testing.T) {
	t.Parallel()
	ms := load(t)
	var found bool
	for _, j := range ms.jobs {
		if j.Name != "svahub-migrate" {
			continue
		}
		found = true
		if j.Spec.BackoffLimit == nil {
			t.Error("Job svahub-migrate: no backoffLimit")
		}
		if j.Spec.TTLSecondsAfterFinished == nil {
			t.Error("Job svahub-migrate: no ttlSecondsAfterFinished")
		}
		if rp := j.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
			t.Errorf("Job svahub-migrate: restartPolicy %q", rp)
		}
	}
	if !found {
		t.Fatal("no Job svahub-migrate")
	}
}

// composeService is the part of a Compose service this test reads.
type composeService struct {
	Image           string `json:"image"`
	Build           any    `json:"build"`
	Entrypoint      any    `json:"entrypoint"`
	Command         any    `json:"command"`
	Environment     any    `json:"environment"`
	StopGracePeriod string `json:"stop_grace_period"`
}

// stringList reads a Compose command/entrypoint (list or string).
func stringList(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return strings.Fields(x)
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}

// composeEnv reads a Compose environment (map or KEY=VALUE list).
func composeEnv(v any) map[string]string {
	env := map[string]string{}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				env[k] = ""
			} else {
				env[k] = fmt.Sprint(e)
			}
		}
	case []any:
		for _, e := range x {
			k, val, _ := strings.Cut(fmt.Sprint(e), "=")
			env[k] = val
		}
	}
	return env
}

// TestDockerCompose validates deploy/docker-compose.yml lightly: it parses
// (merge keys resolved), svahub services run real subcommands, and every
// SVAHUB_* name is one the binary reads.
func TestDockerCompose(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	var doc struct {
		Services map[string]composeService `json:"services"`
	}
	if err := json.Unmarshal(j, &doc); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	if len(doc.Services) == 0 {
		t.Fatalf("%s: no services", composeFile)
	}
	known := knownVariables(t)
	cmds := subcommands(t)
	defaultGrace, err := time.ParseDuration(known["SVAHUB_SHUTDOWN_GRACE"].Default)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]int{}
	for name, s := range doc.Services {
		env := composeEnv(s.Environment)
		svahubImage := s.Build != nil || strings.HasPrefix(s.Image, "svahub") || strings.Contains(s.Image, "/svahub")
		entry := stringList(s.Entrypoint)
		runsSvahub := svahubImage && (len(entry) == 0 || filepath.Base(entry[0]) == "svahub")
		for k := range env {
			if !strings.HasPrefix(k, "SVAHUB_") {
				continue
			}
			if !runsSvahub {
				t.Errorf("service %s: sets %s but does not run svahub", name, k)
			} else if _, ok := known[k]; !ok {
				t.Errorf("service %s: %s is not read by svahub (config.Variables())", name, k)
			}
		}
		if !runsSvahub {
			continue
		}
		args := stringList(s.Command)
		if len(entry) > 1 {
			args = append(entry[1:], args...)
		}
		if len(args) == 0 {
			args = []string{"serve"} // the image's CMD
		}
		if err := checkArgs(args, cmds); err != nil {
			t.Errorf("service %s: command %q: %v", name, args, err)
			continue
		}
		roles[args[0]]++
		if args[0] == "migrate" {
			continue
		}
		grace := defaultGrace
		if raw, ok := env["SVAHUB_SHUTDOWN_GRACE"]; ok && !strings.Contains(raw, "${") {
			if grace, err = time.ParseDuration(raw); err != nil {
				t.Errorf("service %s: SVAHUB_SHUTDOWN_GRACE %q: %v", name, raw, err)
			}
		}
		stop := 10 * time.Second // Compose's default
		if s.StopGracePeriod != "" {
			if stop, err = time.ParseDuration(s.StopGracePeriod); err != nil {
				t.Errorf("service %s: stop_grace_period %q: %v", name, s.StopGracePeriod, err)
			}
		}
		if stop <= grace+stopMargin {
			t.Errorf("service %s: stop_grace_period %s must exceed SVAHUB_SHUTDOWN_GRACE %s plus %s", name, stop, grace, stopMargin)
		}
	}
	for _, r := range []string{"serve", "worker", "migrate"} {
		if roles[r] == 0 {
			t.Errorf("%s: no service runs svahub %s", composeFile, r)
		}
	}
}

// Markers around the generated configuration table in docs/operations.md.
const (
	tableBegin = "<!-- BEGIN config.Variables() -->"
	tableEnd   = "<!-- END config.Variables() -->"
)

// configTable renders config.Variables() as the Markdown table of
// docs/operations.md.
func configTable() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, v := range config.Variables() {
		def := "–"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, def, strings.ReplaceAll(v.Usage, "|", `\|`))
	}
	return b.String()
}

// TestOperationsDocConfigTable keeps the configuration reference of
// docs/operations.md identical to config.Variables(). To refresh it, run
// the test with SVAHUB_UPDATE_DOCS=1.
func TestOperationsDocConfigTable(t *testing.T) {
	b, err := os.ReadFile(operationsDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, tableBegin), strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: markers %q … %q not found", operationsDoc, tableBegin, tableEnd)
	}
	want := configTable()
	got := strings.TrimPrefix(doc[i+len(tableBegin):j], "\n")
	if got == want {
		return
	}
	if os.Getenv("SVAHUB_UPDATE_DOCS") == "1" {
		updated := doc[:i+len(tableBegin)] + "\n" + want + doc[j:]
		if err := os.WriteFile(operationsDoc, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the configuration table differs from config.Variables(); run SVAHUB_UPDATE_DOCS=1 go test ./deploy/kubernetes\nwant:\n%s\ngot:\n%s", operationsDoc, want, got)
}
