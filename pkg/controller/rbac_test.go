package controller

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/argoproj/argo-workflows/v3/pkg/apis/workflow"

	arcv1 "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// The RBAC tests read the source of the controllers (this directory and the
// packages below it) and of cmd/arc-controller, which wires their clients,
// informers, event recorder and leader election, and compare the API calls
// they find with the +kubebuilder:rbac markers of rbac.go, from which
// manifests/rbac/role.yaml is generated. They fail both when the code makes
// a call the markers do not allow and when a marker grants something the
// code no longer uses.
//
// What counts as an API call:
//   - a typed client call written as one chain,
//     client.<GroupVersion>().<Resource>(ns).<Verb>(...), e.g.
//     c.argo.ArgoprojV1alpha1().Workflows(ns).Create(...);
//   - a field of a controller's Informers struct of a generated informer
//     type (list, watch);
//   - metadata informers, factory.ForResource(<pkg>.SchemeGroupVersion.WithResource("...")) (list, watch);
//   - client-go's event sink, record.EventSinkImpl{Interface: kube.CoreV1().Events(...)} (create, patch);
//   - client-go's leader election lock, resourcelock.LeaseLock{Client: kube.CoordinationV1()}
//     (get and update of the one Lease its LeaseMeta names, create);
//   - k8s.io/apiserver's delegating authenticator of the metrics endpoint,
//     authenticatorfactory.DelegatingAuthenticatorConfig{TokenAccessReviewClient: kube.AuthenticationV1()}
//     (create tokenreviews).
//
// Any other use of a typed client's group-version accessor fails the test,
// so a call cannot slip past the check by being written differently.

// scannedDirs are read relative to this package's directory.
var scannedDirs = []string{".", "../../cmd/arc-controller"}

// skippedDirs hold test support code, not controller code.
var skippedDirs = map[string]bool{"controllertest": true, "testdata": true}

// permission is one verb on one resource ("resource" or "resource/subresource").
type permission struct {
	group, resource, verb string
	// namespaced is true when the controller only needs it in its own
	// namespace (the leader election Lease): a Role satisfies it.
	namespaced bool
	// name is the one object a need is about (the Lease), "" for any. A
	// grant limited by resourceNames covers only needs with one of them.
	name          string
	resourceNames []string
}

func (p permission) String() string {
	group := p.group
	if group == "" {
		group = "core"
	}
	s := fmt.Sprintf("%s %s %s", group, p.resource, p.verb)
	if p.namespaced {
		s += " (own namespace)"
	}
	if p.name != "" {
		s += " named " + p.name
	}
	if len(p.resourceNames) > 0 {
		s += " limited to " + strings.Join(p.resourceNames, ", ")
	}
	return s
}

// key ignores where the permission is needed and for which object.
func (p permission) key() string { return p.group + "|" + p.resource + "|" + p.verb }

// covers reports whether grant allows need: a cluster-wide need is met only
// by a ClusterRole rule, a need in the controller's own namespace by either;
// a rule with resourceNames only meets a need for one of those objects.
func (grant permission) covers(need permission) bool {
	if grant.namespaced && !need.namespaced {
		return false
	}
	return len(grant.resourceNames) == 0 || (need.name != "" && slices.Contains(grant.resourceNames, need.name))
}

// groupOfAccessor maps a typed client's group-version accessor to its API group.
var groupOfAccessor = map[string]string{
	"ArcV1alpha1":      arcv1.GroupName,
	"ArgoprojV1alpha1": workflow.Group,
	"CoreV1":           "",
	"CoordinationV1":   "coordination.k8s.io",
	"EventsV1":         "events.k8s.io",
	"AppsV1":           "apps",
	"BatchV1":          "batch",
	"RbacV1":           "rbac.authorization.k8s.io",
	"AuthorizationV1":  "authorization.k8s.io",
	"AuthenticationV1": "authentication.k8s.io",
}

// accessorName matches the name of a group-version accessor such as CoreV1 or ArcV1alpha1.
var accessorName = regexp.MustCompile(`^[A-Z][A-Za-z]*V[0-9]+((alpha|beta)[0-9]+)?$`)

// verbOfMethod maps a typed client method to its RBAC verb and subresource.
var verbOfMethod = map[string]struct{ verb, subresource string }{
	"Get":              {"get", ""},
	"List":             {"list", ""},
	"Watch":            {"watch", ""},
	"Create":           {"create", ""},
	"Update":           {"update", ""},
	"UpdateStatus":     {"update", "status"},
	"Patch":            {"patch", ""},
	"Apply":            {"patch", ""},
	"ApplyStatus":      {"patch", "status"},
	"Delete":           {"delete", ""},
	"DeleteCollection": {"deletecollection", ""},
	"GetScale":         {"get", "scale"},
	"UpdateScale":      {"update", "scale"},
	"ApplyScale":       {"patch", "scale"},
}

// groupOfInformerPackage maps the import path of a generated informer package to its API group.
func groupOfInformerPackage(path string) (string, bool) {
	switch {
	case strings.HasPrefix(path, "github.com/artifact-conduit/arc/pkg/generated/informers/externalversions/arc/"):
		return arcv1.GroupName, true
	case strings.HasPrefix(path, "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions/workflow/"):
		return workflow.Group, true
	case path == "k8s.io/client-go/informers/core/v1":
		return "", true
	}
	return "", false
}

// groupOfAPIPackage maps the import path of an API types package to its group.
func groupOfAPIPackage(path string) (string, bool) {
	switch path {
	case "k8s.io/api/core/v1":
		return "", true
	case "github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1":
		return arcv1.GroupName, true
	case "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1":
		return workflow.Group, true
	}
	return "", false
}

// extraGrants are granted without a call in the code that needs them, each
// for a reason the scan cannot see. Keep this list short and explained.
var extraGrants = map[string]string{
	// blockOwnerDeletion on the controller references of ArtifactWorkflows
	// and Workflows (OwnerReferencesPermissionEnforcement admission).
	arcv1.GroupName + "|orders/finalizers|update":            "owner of ArtifactWorkflows",
	arcv1.GroupName + "|artifactworkflows/finalizers|update": "owner of Workflows",
}

// scanResult is what the scan found: the permissions the code needs, where,
// and the uses of client accessors it could not interpret.
type scanResult struct {
	needs      map[string]permission
	where      map[string][]string
	unreadable []string

	// flagDefaults maps the option fields that string flags fill
	// (fs.StringVar(&o.leaseName, "flag", "default", ...)) to their defaults,
	// and namedNeeds are needs whose object a field names: resolved once every
	// file has been read, since flags and calls live in different files.
	flagDefaults map[string]string
	namedNeeds   []namedNeed
}

// namedNeed is a permission needed for the object an option field names.
type namedNeed struct {
	p     permission
	field string
	pos   token.Position
}

func (r *scanResult) need(p permission, pos token.Position) {
	k := p.key()
	if old, ok := r.needs[k]; ok {
		if !old.namespaced {
			p.namespaced = false
		}
		if old.name != p.name {
			p.name = "" // needed for several objects: any name
		}
	}
	r.needs[k] = p
	r.where[k] = append(r.where[k], fmt.Sprintf("%s:%d", pos.Filename, pos.Line))
}

// resolveNames records the named needs with the flag defaults of their fields.
func (r *scanResult) resolveNames() {
	for _, nn := range r.namedNeeds {
		name, ok := r.flagDefaults[nn.field]
		if !ok {
			r.unreadable = append(r.unreadable, fmt.Sprintf("%s: the object is named by %s, which no fs.StringVar(&o.%s, ...) with a literal default fills",
				nn.pos, nn.field, nn.field))
			continue
		}
		nn.p.name = name
		r.need(nn.p, nn.pos)
	}
	r.namedNeeds = nil
}

func scanSources(t *testing.T) *scanResult {
	t.Helper()
	res := &scanResult{needs: map[string]permission{}, where: map[string][]string{}, flagDefaults: map[string]string{}}
	fset := token.NewFileSet()
	for _, root := range scannedDirs {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != root && skippedDirs[d.Name()] {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			scanFile(fset, file, res)
			return nil
		})
		if err != nil {
			t.Fatalf("scanning %s: %v", root, err)
		}
	}
	res.resolveNames()
	return res
}

// importsOf maps the names a file uses for its imports to their paths.
func importsOf(file *ast.File) map[string]string {
	out := map[string]string{}
	for _, imp := range file.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		out[name] = path
	}
	return out
}

// accessorCall returns the accessor name when e is a call like x.CoreV1().
func accessorCall(e ast.Expr) (*ast.CallExpr, string, bool) {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) != 0 {
		return nil, "", false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || !accessorName.MatchString(sel.Sel.Name) {
		return nil, "", false
	}
	return call, sel.Sel.Name, true
}

// resourceCall returns the accessor call and the resource when e is a call
// like x.CoreV1().Secrets(ns).
func resourceCall(e ast.Expr) (accessor *ast.CallExpr, gv, resource string, ok bool) {
	call, isCall := e.(*ast.CallExpr)
	if !isCall {
		return nil, "", "", false
	}
	sel, isSel := call.Fun.(*ast.SelectorExpr)
	if !isSel {
		return nil, "", "", false
	}
	accessor, gv, ok = accessorCall(sel.X)
	if !ok {
		return nil, "", "", false
	}
	return accessor, gv, strings.ToLower(sel.Sel.Name), true
}

// compositeType returns the type name of a composite literal: "EventSinkImpl" for typedcorev1.EventSinkImpl{...}.
func compositeType(lit *ast.CompositeLit) string {
	switch t := lit.Type.(type) {
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.Ident:
		return t.Name
	}
	return ""
}

func fieldValue(lit *ast.CompositeLit, field string) ast.Expr {
	for _, elt := range lit.Elts {
		if kv, ok := elt.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == field {
				return kv.Value
			}
		}
	}
	return nil
}

func scanFile(fset *token.FileSet, file *ast.File, res *scanResult) {
	imports := importsOf(file)
	consumed := map[*ast.CallExpr]bool{}
	var accessors []*ast.CallExpr
	fail := func(n ast.Node, format string, args ...interface{}) {
		res.unreadable = append(res.unreadable, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), fmt.Sprintf(format, args...)))
	}
	groupOf := func(n ast.Node, gv string) (string, bool) {
		g, ok := groupOfAccessor[gv]
		if !ok {
			fail(n, "unknown client accessor %s(): add its API group to groupOfAccessor", gv)
		}
		return g, ok
	}

	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if acc, _, ok := accessorCall(n); ok {
				accessors = append(accessors, acc)
			}
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			// client.<GV>().<Resource>(ns).<Verb>(...)
			if acc, gv, resource, ok := resourceCall(sel.X); ok {
				consumed[acc] = true
				group, ok := groupOf(n, gv)
				if !ok {
					return true
				}
				v, ok := verbOfMethod[sel.Sel.Name]
				if !ok {
					fail(n, "unknown client method %s on %s: add its RBAC verb to verbOfMethod", sel.Sel.Name, resource)
					return true
				}
				if sel.Sel.Name == "Patch" && len(n.Args) > 5 {
					fail(n, "Patch of a subresource of %s: the check cannot tell which", resource)
					return true
				}
				if v.subresource != "" {
					resource += "/" + v.subresource
				}
				res.need(permission{group: group, resource: resource, verb: v.verb}, fset.Position(n.Pos()))
				return true
			}
			// fs.StringVar(&o.field, "flag", "default", "usage")
			if sel.Sel.Name == "StringVar" && len(n.Args) == 4 {
				if field, def, ok := stringFlag(n); ok {
					res.flagDefaults[field] = def
				}
			}
			// factory.ForResource(<pkg>.SchemeGroupVersion.WithResource("secrets"))
			if sel.Sel.Name == "ForResource" && len(n.Args) == 1 {
				group, resource, ok := schemeResource(n.Args[0], imports)
				if !ok {
					fail(n, "ForResource with an argument the check cannot read: write <pkg>.SchemeGroupVersion.WithResource(\"plural\")")
					return true
				}
				for _, verb := range []string{"list", "watch"} {
					res.need(permission{group: group, resource: resource, verb: verb}, fset.Position(n.Pos()))
				}
			}
		case *ast.CompositeLit:
			switch compositeType(n) {
			case "EventSinkImpl":
				// client-go's event recorder creates events and patches repeated ones.
				v := fieldValue(n, "Interface")
				acc, gv, resource, ok := resourceCall(v)
				if !ok {
					fail(n, "EventSinkImpl without a client.<GV>().Events(ns) Interface")
					return true
				}
				consumed[acc] = true
				if group, ok := groupOf(n, gv); ok {
					for _, verb := range []string{"create", "patch"} {
						res.need(permission{group: group, resource: resource, verb: verb}, fset.Position(n.Pos()))
					}
				}
			case "LeaseLock":
				// client-go's leader election reads and renews the one Lease
				// its LeaseMeta names, and creates it, in one namespace.
				acc, gv, ok := accessorCall(fieldValue(n, "Client"))
				if !ok {
					fail(n, "LeaseLock without a client.CoordinationV1() Client")
					return true
				}
				consumed[acc] = true
				group, ok := groupOf(n, gv)
				if !ok {
					return true
				}
				pos := fset.Position(n.Pos())
				res.need(permission{group: group, resource: "leases", verb: "create", namespaced: true}, pos)
				field, ok := leaseNameField(n)
				if !ok {
					fail(n, "LeaseLock whose LeaseMeta Name is not an option field (LeaseMeta: metav1.ObjectMeta{Name: o.field})")
					return true
				}
				for _, verb := range []string{"get", "update"} {
					res.namedNeeds = append(res.namedNeeds, namedNeed{
						p: permission{group: group, resource: "leases", verb: verb, namespaced: true}, field: field, pos: pos,
					})
				}
			default:
				// k8s.io/apiserver's delegating authenticator asks the API
				// server about the clients of /metrics.
				rc, isReviewClient := reviewClients[compositeType(n)]
				if !isReviewClient {
					return true
				}
				acc, gv, ok := accessorCall(fieldValue(n, rc.field))
				if !ok {
					fail(n, "%s without a client.%s() %s", compositeType(n), rc.accessor, rc.field)
					return true
				}
				consumed[acc] = true
				if group, ok := groupOf(n, gv); ok {
					res.need(permission{group: group, resource: rc.resource, verb: "create"}, fset.Position(n.Pos()))
				}
			}
		case *ast.TypeSpec:
			// type Informers struct { Orders arcinformers.OrderInformer; ... }
			st, ok := n.Type.(*ast.StructType)
			if !ok || n.Name.Name != "Informers" {
				return true
			}
			for _, field := range st.Fields.List {
				sel, ok := field.Type.(*ast.SelectorExpr)
				if !ok {
					fail(field, "Informers field of a type the check cannot read")
					continue
				}
				if sel.Sel.Name == "GenericInformer" {
					// Built with ForResource in cmd/arc-controller, which the scan reads.
					continue
				}
				pkg, _ := sel.X.(*ast.Ident)
				if pkg == nil {
					fail(field, "Informers field of a type the check cannot read")
					continue
				}
				group, ok := groupOfInformerPackage(imports[pkg.Name])
				kind, isInformer := strings.CutSuffix(sel.Sel.Name, "Informer")
				if !ok || !isInformer {
					fail(field, "Informers field of type %s.%s: add its package to groupOfInformerPackage", pkg.Name, sel.Sel.Name)
					continue
				}
				for _, verb := range []string{"list", "watch"} {
					res.need(permission{group: group, resource: strings.ToLower(kind) + "s", verb: verb}, fset.Position(field.Pos()))
				}
			}
		}
		return true
	})
	for _, acc := range accessors {
		if !consumed[acc] {
			fail(acc, "a client accessor used in a way the RBAC check cannot follow: write each call as one chain, client.<GroupVersion>().<Resource>(ns).<Verb>(...)")
		}
	}
}

// reviewClients are k8s.io/apiserver's delegating configurations: each is
// handed a group-version client in a field and creates one kind of review.
// (/metrics' authorizer is ARC's own and calls its client in one chain.)
var reviewClients = map[string]struct{ field, accessor, resource string }{
	"DelegatingAuthenticatorConfig": {"TokenAccessReviewClient", "AuthenticationV1", "tokenreviews"},
}

// stringFlag reads fs.StringVar(&o.field, "flag", "default", usage).
func stringFlag(call *ast.CallExpr) (field, def string, ok bool) {
	addr, isUnary := call.Args[0].(*ast.UnaryExpr)
	if !isUnary || addr.Op != token.AND {
		return "", "", false
	}
	sel, isSel := addr.X.(*ast.SelectorExpr)
	lit, isLit := call.Args[2].(*ast.BasicLit)
	if !isSel || !isLit || lit.Kind != token.STRING {
		return "", "", false
	}
	def, err := strconv.Unquote(lit.Value)
	return sel.Sel.Name, def, err == nil
}

// leaseNameField reads the option field of LeaseLock{LeaseMeta: metav1.ObjectMeta{Name: o.field}}.
func leaseNameField(lock *ast.CompositeLit) (string, bool) {
	meta, ok := fieldValue(lock, "LeaseMeta").(*ast.CompositeLit)
	if !ok {
		return "", false
	}
	sel, ok := fieldValue(meta, "Name").(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	return sel.Sel.Name, true
}

// schemeResource reads <pkg>.SchemeGroupVersion.WithResource("plural").
func schemeResource(e ast.Expr, imports map[string]string) (group, resource string, ok bool) {
	call, isCall := e.(*ast.CallExpr)
	if !isCall || len(call.Args) != 1 {
		return "", "", false
	}
	sel, isSel := call.Fun.(*ast.SelectorExpr)
	if !isSel || sel.Sel.Name != "WithResource" {
		return "", "", false
	}
	gv, isSel := sel.X.(*ast.SelectorExpr)
	if !isSel || gv.Sel.Name != "SchemeGroupVersion" {
		return "", "", false
	}
	pkg, isIdent := gv.X.(*ast.Ident)
	lit, isLit := call.Args[0].(*ast.BasicLit)
	if !isIdent || !isLit || lit.Kind != token.STRING {
		return "", "", false
	}
	group, ok = groupOfAPIPackage(imports[pkg.Name])
	resource, _ = strconv.Unquote(lit.Value)
	return group, resource, ok
}

// marker is one +kubebuilder:rbac marker of rbac.go.
type marker struct {
	line                               int
	groups, resources, verbs, resNames []string
	namespace                          string
}

var markerLine = regexp.MustCompile(`^//\s*\+kubebuilder:rbac:(.*)$`)

func readMarkers(t *testing.T) []marker {
	t.Helper()
	data, err := os.ReadFile("rbac.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []marker
	for i, line := range strings.Split(string(data), "\n") {
		m := markerLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		mk := marker{line: i + 1}
		for _, kv := range strings.Split(m[1], ",") {
			key, value, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("rbac.go:%d: cannot read %q", i+1, kv)
			}
			values := strings.Split(strings.Trim(value, `"`), ";")
			switch key {
			case "groups":
				for j, g := range values {
					if g == "core" {
						values[j] = ""
					}
				}
				mk.groups = values
			case "resources":
				mk.resources = values
			case "verbs":
				mk.verbs = values
			case "resourceNames":
				mk.resNames = values
			case "namespace":
				mk.namespace = value
			default:
				t.Fatalf("rbac.go:%d: unexpected key %q", i+1, key)
			}
		}
		out = append(out, mk)
	}
	if len(out) == 0 {
		t.Fatal("rbac.go has no +kubebuilder:rbac markers")
	}
	return out
}

// granted lists what the markers grant, by permission key.
func granted(t *testing.T, markers []marker) map[string][]permission {
	t.Helper()
	out := map[string][]permission{}
	for _, m := range markers {
		for _, g := range m.groups {
			for _, r := range m.resources {
				for _, v := range m.verbs {
					if g == "*" || r == "*" || v == "*" {
						t.Errorf("rbac.go:%d: wildcards grant more than the code uses", m.line)
					}
					if len(m.resNames) > 0 && (v == "create" || v == "list" || v == "watch" || v == "deletecollection") {
						// The request names no object, so the API server never
						// matches such a rule: it would grant nothing.
						t.Errorf("rbac.go:%d: resourceNames cannot limit %s; grant it in a marker of its own", m.line, v)
					}
					p := permission{group: g, resource: r, verb: v, namespaced: m.namespace != "", resourceNames: m.resNames}
					out[p.key()] = append(out[p.key()], p)
				}
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestRBACMarkersCoverClientCalls fails when the code makes an API call
// that the markers of rbac.go, and so the ClusterRole, do not allow.
func TestRBACMarkersCoverClientCalls(t *testing.T) {
	res := scanSources(t)
	for _, u := range res.unreadable {
		t.Errorf("%s", u)
	}
	// The scan must see the calls we know of, or it checks nothing.
	for _, known := range []permission{
		{group: workflow.Group, resource: "workflows", verb: "create"},
		{group: arcv1.GroupName, resource: "orders/status", verb: "update"},
		{group: arcv1.GroupName, resource: "endpoints", verb: "watch"},
		{group: "", resource: "secrets", verb: "list"},
		{group: "", resource: "events", verb: "create"},
		{group: "coordination.k8s.io", resource: "leases", verb: "update", namespaced: true, name: "arc-controller"},
		{group: "coordination.k8s.io", resource: "leases", verb: "create", namespaced: true},
		{group: "authentication.k8s.io", resource: "tokenreviews", verb: "create"},
		{group: "authorization.k8s.io", resource: "subjectaccessreviews", verb: "create"},
	} {
		if got, ok := res.needs[known.key()]; !ok || got.name != known.name || got.namespaced != known.namespaced {
			t.Errorf("the scan did not find %s (found %v): it is broken", known, got)
		}
	}

	grants := granted(t, readMarkers(t))
	for _, k := range sortedKeys(res.needs) {
		need := res.needs[k]
		ok := false
		for _, g := range grants[k] {
			ok = ok || g.covers(need)
		}
		if !ok {
			t.Errorf("the code needs %s (%s), which no +kubebuilder:rbac marker in rbac.go grants; add it and run hack/update-rbac.sh",
				need, strings.Join(res.where[k], ", "))
		}
	}
}

// TestRBACMarkersGrantNothingUnused fails when a marker grants a verb the
// code does not use, apart from get next to list (harmless: list returns
// the same objects) and the explained extraGrants.
func TestRBACMarkersGrantNothingUnused(t *testing.T) {
	res := scanSources(t)
	grants := granted(t, readMarkers(t))
	for _, k := range sortedKeys(grants) {
		if _, used := res.needs[k]; used {
			continue
		}
		if _, ok := extraGrants[k]; ok {
			continue
		}
		p := grants[k][0]
		if p.verb == "get" {
			list := p
			list.verb = "list"
			if _, ok := res.needs[list.key()]; ok {
				continue
			}
		}
		t.Errorf("rbac.go grants %s, but the code never uses it: remove it and run hack/update-rbac.sh", p)
	}
	for k, why := range extraGrants {
		if _, ok := grants[k]; !ok {
			t.Errorf("extraGrants lists %s (%s), which rbac.go no longer grants: drop it from the list", k, why)
		}
	}
}
