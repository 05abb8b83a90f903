package v1alpha1_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
	clientscheme "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned/scheme"
)

// crdDir holds the CRDs controller-gen generates from this package.
var crdDir = filepath.Join("..", "..", "..", "..", "manifests", "crd")

// ---------------------------------------------------------------------------
// A small local model of apiextensions.k8s.io/v1 CustomResourceDefinition:
// only what the checks below need, so that k8s.io/apiextensions-apiserver
// stays out of go.mod.
// ---------------------------------------------------------------------------

type crdDocument struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Group string `json:"group"`
		Names struct {
			Kind       string   `json:"kind"`
			ListKind   string   `json:"listKind"`
			Plural     string   `json:"plural"`
			Singular   string   `json:"singular"`
			ShortNames []string `json:"shortNames"`
			Categories []string `json:"categories"`
		} `json:"names"`
		Scope                 string       `json:"scope"`
		PreserveUnknownFields *bool        `json:"preserveUnknownFields"`
		Versions              []crdVersion `json:"versions"`
	} `json:"spec"`
}

type crdVersion struct {
	Name       string `json:"name"`
	Served     bool   `json:"served"`
	Storage    bool   `json:"storage"`
	Deprecated bool   `json:"deprecated"`
	Schema     struct {
		// Raw is decoded strictly into a jsonSchema by loadCRDs.
		OpenAPIV3Schema json.RawMessage `json:"openAPIV3Schema"`
	} `json:"schema"`
	Subresources struct {
		Status *json.RawMessage `json:"status"`
		Scale  *json.RawMessage `json:"scale"`
	} `json:"subresources"`
	AdditionalPrinterColumns []printerColumn `json:"additionalPrinterColumns"`

	schema *jsonSchema
}

type printerColumn struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Format      string `json:"format"`
	Description string `json:"description"`
	Priority    int32  `json:"priority"`
	JSONPath    string `json:"jsonPath"`
}

// jsonSchema mirrors the fields of apiextensions/v1 JSONSchemaProps that a CRD
// may use. It is decoded with unknown fields disallowed, so a keyword the
// apiserver refuses in CRDs ($ref, definitions, patternProperties,
// dependencies, additionalItems, id, $schema) fails the decoding.
type jsonSchema struct {
	Description          string                 `json:"description,omitempty"`
	Type                 string                 `json:"type,omitempty"`
	Format               string                 `json:"format,omitempty"`
	Title                string                 `json:"title,omitempty"`
	Default              json.RawMessage        `json:"default,omitempty"`
	Example              json.RawMessage        `json:"example,omitempty"`
	ExternalDocs         json.RawMessage        `json:"externalDocs,omitempty"`
	Nullable             bool                   `json:"nullable,omitempty"`
	Maximum              *float64               `json:"maximum,omitempty"`
	ExclusiveMaximum     bool                   `json:"exclusiveMaximum,omitempty"`
	Minimum              *float64               `json:"minimum,omitempty"`
	ExclusiveMinimum     bool                   `json:"exclusiveMinimum,omitempty"`
	MultipleOf           *float64               `json:"multipleOf,omitempty"`
	MaxLength            *int64                 `json:"maxLength,omitempty"`
	MinLength            *int64                 `json:"minLength,omitempty"`
	Pattern              string                 `json:"pattern,omitempty"`
	MaxItems             *int64                 `json:"maxItems,omitempty"`
	MinItems             *int64                 `json:"minItems,omitempty"`
	UniqueItems          bool                   `json:"uniqueItems,omitempty"`
	MaxProperties        *int64                 `json:"maxProperties,omitempty"`
	MinProperties        *int64                 `json:"minProperties,omitempty"`
	Enum                 []json.RawMessage      `json:"enum,omitempty"`
	Required             []string               `json:"required,omitempty"`
	Items                *jsonSchema            `json:"items,omitempty"`
	AllOf                []*jsonSchema          `json:"allOf,omitempty"`
	OneOf                []*jsonSchema          `json:"oneOf,omitempty"`
	AnyOf                []*jsonSchema          `json:"anyOf,omitempty"`
	Not                  *jsonSchema            `json:"not,omitempty"`
	Properties           map[string]*jsonSchema `json:"properties,omitempty"`
	AdditionalProperties *schemaOrBool          `json:"additionalProperties,omitempty"`

	PreserveUnknownFields *bool            `json:"x-kubernetes-preserve-unknown-fields,omitempty"`
	EmbeddedResource      bool             `json:"x-kubernetes-embedded-resource,omitempty"`
	IntOrString           bool             `json:"x-kubernetes-int-or-string,omitempty"`
	ListType              *string          `json:"x-kubernetes-list-type,omitempty"`
	ListMapKeys           []string         `json:"x-kubernetes-list-map-keys,omitempty"`
	MapType               *string          `json:"x-kubernetes-map-type,omitempty"`
	Validations           []validationRule `json:"x-kubernetes-validations,omitempty"`

	// raw holds every keyword present, for "only these keywords" checks.
	raw map[string]any
}

type schemaOrBool struct {
	Allows bool
	Schema *jsonSchema
}

func (s *schemaOrBool) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("true")) || bytes.Equal(data, []byte("false")) {
		s.Allows = data[0] == 't'
		return nil
	}
	s.Allows = true
	s.Schema = new(jsonSchema)
	return s.Schema.UnmarshalJSON(data)
}

func (s *jsonSchema) UnmarshalJSON(data []byte) error {
	type plain jsonSchema
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode((*plain)(s)); err != nil {
		return err
	}
	return json.Unmarshal(data, &s.raw)
}

type validationRule struct {
	Rule              string `json:"rule"`
	Message           string `json:"message,omitempty"`
	MessageExpression string `json:"messageExpression,omitempty"`
	Reason            string `json:"reason,omitempty"`
	FieldPath         string `json:"fieldPath,omitempty"`
	OptionalOldSelf   *bool  `json:"optionalOldSelf,omitempty"`
}

func (s *jsonSchema) preserves() bool {
	return s.PreserveUnknownFields != nil && *s.PreserveUnknownFields
}

// at follows a dotted path of property names; "[]" steps into items.
func (s *jsonSchema) at(path string) *jsonSchema {
	cur := s
	for _, part := range strings.Split(path, ".") {
		if cur == nil {
			return nil
		}
		if part == "[]" {
			cur = cur.Items
			continue
		}
		cur = cur.Properties[part]
	}
	return cur
}

type loadedCRD struct {
	file string
	crdDocument
}

func (c *loadedCRD) version() *crdVersion {
	if len(c.Spec.Versions) == 0 {
		return nil
	}
	return &c.Spec.Versions[0]
}

func (c *loadedCRD) schema() *jsonSchema {
	if v := c.version(); v != nil {
		return v.schema
	}
	return nil
}

// loadCRDs reads every CRD under manifests/crd, keyed by kind.
func loadCRDs(t *testing.T) map[string]*loadedCRD {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(crdDir, "arc.opendefense.cloud_*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no CRDs in %s", crdDir)
	crds := map[string]*loadedCRD{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		docs := splitYAMLDocuments(data)
		require.Lenf(t, docs, 1, "%s: want exactly one YAML document", file)
		c := &loadedCRD{file: filepath.Base(file)}
		require.NoErrorf(t, yaml.Unmarshal(docs[0], &c.crdDocument), "%s", file)
		for i := range c.Spec.Versions {
			v := &c.Spec.Versions[i]
			require.NotEmptyf(t, v.Schema.OpenAPIV3Schema, "%s: version %s has no schema", file, v.Name)
			v.schema = new(jsonSchema)
			require.NoErrorf(t, json.Unmarshal(v.Schema.OpenAPIV3Schema, v.schema),
				"%s: the schema of version %s uses a keyword CRDs do not allow", file, v.Name)
		}
		require.NotContainsf(t, crds, c.Spec.Names.Kind, "%s: kind defined twice", file)
		crds[c.Spec.Names.Kind] = c
	}
	return crds
}

func splitYAMLDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(doc, "")) != "" {
			docs = append(docs, []byte(doc))
		}
	}
	return docs
}

// ---------------------------------------------------------------------------
// Expectations per kind.
// ---------------------------------------------------------------------------

type crdExpectation struct {
	kind       string
	plural     string
	shortName  string
	scope      string
	columns    []string // printer column names, in order
	goType     reflect.Type
	goListType reflect.Type
}

var typeColumns = []string{"Source types", "Destination types", "Template", "Age"}

var crdExpectations = []crdExpectation{
	{
		kind: "Endpoint", plural: "endpoints", shortName: "aep", scope: "Namespaced",
		columns: []string{"Type", "Remote URL", "Usage", "Max workflows", "Age"},
		goType:  reflect.TypeFor[v1alpha1.Endpoint](), goListType: reflect.TypeFor[v1alpha1.EndpointList](),
	},
	{
		kind: "ArtifactType", plural: "artifacttypes", shortName: "at", scope: "Namespaced",
		columns: typeColumns,
		goType:  reflect.TypeFor[v1alpha1.ArtifactType](), goListType: reflect.TypeFor[v1alpha1.ArtifactTypeList](),
	},
	{
		kind: "ClusterArtifactType", plural: "clusterartifacttypes", shortName: "cat", scope: "Cluster",
		columns: typeColumns,
		goType:  reflect.TypeFor[v1alpha1.ClusterArtifactType](), goListType: reflect.TypeFor[v1alpha1.ClusterArtifactTypeList](),
	},
	{
		kind: "Order", plural: "orders", shortName: "ord", scope: "Namespaced",
		columns: []string{"Phase", "Succeeded", "Failed", "Total", "Scheduled", "Running", "Pending", "Suspend", "Parallelism", "Age"},
		goType:  reflect.TypeFor[v1alpha1.Order](), goListType: reflect.TypeFor[v1alpha1.OrderList](),
	},
	{
		kind: "ArtifactWorkflow", plural: "artifactworkflows", shortName: "aw", scope: "Namespaced",
		columns: []string{"Phase", "Type", "Run", "Workflow", "Last-Schedule", "Active", "Runs-Succeeded", "Runs-Failed", "Age"},
		goType:  reflect.TypeFor[v1alpha1.ArtifactWorkflow](), goListType: reflect.TypeFor[v1alpha1.ArtifactWorkflowList](),
	},
}

func TestCRDFilesMatchKinds(t *testing.T) {
	crds := loadCRDs(t)
	var want, got []string
	for _, e := range crdExpectations {
		want = append(want, e.kind)
	}
	for kind := range crds {
		got = append(got, kind)
	}
	assert.ElementsMatch(t, want, got, "one CRD per kind of the package, no more")

	// Every kind registered in the scheme has a CRD.
	for gvk := range clientscheme.Scheme.AllKnownTypes() {
		if gvk.GroupVersion() != v1alpha1.SchemeGroupVersion || strings.HasSuffix(gvk.Kind, "List") ||
			strings.HasSuffix(gvk.Kind, "Options") || gvk.Kind == "WatchEvent" || gvk.Kind == "Status" {
			continue
		}
		assert.Containsf(t, crds, gvk.Kind, "kind %s is registered in the scheme but has no CRD", gvk.Kind)
	}
}

func TestCRDs(t *testing.T) {
	crds := loadCRDs(t)
	for _, e := range crdExpectations {
		t.Run(e.kind, func(t *testing.T) {
			c, ok := crds[e.kind]
			require.Truef(t, ok, "no CRD for kind %s in %s", e.kind, crdDir)
			v := c.version()
			require.NotNil(t, v)
			root := c.schema()

			t.Run("identity", func(t *testing.T) {
				assert.Equal(t, "apiextensions.k8s.io/v1", c.APIVersion)
				assert.Equal(t, "CustomResourceDefinition", c.Kind)
				assert.Equal(t, e.plural+"."+v1alpha1.GroupName, c.Metadata.Name)
				assert.Equal(t, v1alpha1.GroupName+"_"+e.plural+".yaml", c.file)
				assert.Equal(t, e.plural, c.Spec.Names.Plural)
				assert.Equal(t, strings.ToLower(e.kind), c.Spec.Names.Singular)
				assert.Equal(t, e.kind+"List", c.Spec.Names.ListKind)
				assert.Nil(t, c.Spec.PreserveUnknownFields, "spec.preserveUnknownFields must not be set in v1 CRDs")
				// The kind and its list are registered in the scheme.
				gv := v1alpha1.SchemeGroupVersion
				for _, kind := range []string{e.kind, e.kind + "List"} {
					_, err := clientscheme.Scheme.New(gv.WithKind(kind))
					assert.NoErrorf(t, err, "%s not registered in the clientset scheme", kind)
				}
			})
			t.Run("group", func(t *testing.T) {
				assert.Equal(t, "arc.opendefense.cloud", c.Spec.Group)
				assert.Equal(t, v1alpha1.GroupName, c.Spec.Group)
			})
			t.Run("version", func(t *testing.T) {
				require.Len(t, c.Spec.Versions, 1)
				assert.Equal(t, "v1alpha1", v.Name)
				assert.Equal(t, v1alpha1.SchemeGroupVersion.Version, v.Name)
				assert.True(t, v.Served, "served")
				assert.True(t, v.Storage, "storage")
				assert.False(t, v.Deprecated, "deprecated")
			})
			t.Run("status subresource", func(t *testing.T) {
				require.NotNil(t, v.Subresources.Status, "subresources.status missing")
				assert.JSONEq(t, `{}`, string(*v.Subresources.Status))
				assert.Nil(t, v.Subresources.Scale, "no scale subresource expected")
				assert.Contains(t, root.Properties, "status")
			})
			t.Run("category", func(t *testing.T) {
				assert.Contains(t, c.Spec.Names.Categories, "arc")
			})
			t.Run("short names", func(t *testing.T) {
				assert.Equal(t, []string{e.shortName}, c.Spec.Names.ShortNames)
			})
			t.Run("scope", func(t *testing.T) {
				assert.Equal(t, e.scope, c.Spec.Scope)
			})
			t.Run("printer columns", func(t *testing.T) {
				var names []string
				for _, col := range v.AdditionalPrinterColumns {
					names = append(names, col.Name)
				}
				assert.Equal(t, e.columns, names)
				for _, col := range v.AdditionalPrinterColumns {
					assert.Containsf(t, []string{"integer", "number", "string", "boolean", "date"}, col.Type, "column %q", col.Name)
					assert.Truef(t, strings.HasPrefix(col.JSONPath, "."), "column %q: jsonPath %q must start with a dot", col.Name, col.JSONPath)
					if col.Name == "Age" {
						assert.Equal(t, "date", col.Type)
						assert.Equal(t, ".metadata.creationTimestamp", col.JSONPath)
						continue
					}
					// The column shows a field the schema has, of a fitting type.
					target := root.at(strings.TrimPrefix(col.JSONPath, "."))
					if assert.NotNilf(t, target, "column %q: jsonPath %s names no field of the schema", col.Name, col.JSONPath) {
						switch col.Type {
						case "integer":
							assert.Equalf(t, "integer", target.Type, "column %q", col.Name)
						case "string":
							assert.Containsf(t, []string{"string", "array"}, target.Type, "column %q", col.Name)
						}
					}
				}
			})
			t.Run("structural schema", func(t *testing.T) {
				problems := checkStructural(root)
				assert.Emptyf(t, problems, "%s: the schema is not structural:\n  %s", c.file, strings.Join(problems, "\n  "))
			})
			t.Run("descriptions", func(t *testing.T) {
				var missing []string
				for _, top := range []string{"spec", "status"} {
					s := root.Properties[top]
					if s == nil {
						continue
					}
					if strings.TrimSpace(s.Description) == "" {
						missing = append(missing, top)
					}
					missing = append(missing, missingDescriptions(top, s)...)
				}
				assert.Emptyf(t, missing, "%s: these properties have no description (kubectl explain shows nothing):\n  %s",
					c.file, strings.Join(missing, "\n  "))
				assert.NotEmpty(t, strings.TrimSpace(root.Description), "the kind itself has no description")
			})
			t.Run("matches Go types", func(t *testing.T) {
				var problems []string
				for _, part := range []string{"Spec", "Status"} {
					f, ok := e.goType.FieldByName(part)
					require.True(t, ok)
					name, _ := jsonName(f)
					problems = append(problems, compareWithGo(name, f.Type, root.Properties[name])...)
				}
				assert.Emptyf(t, problems, "%s is stale or disagrees with the Go types (run make generate):\n  %s",
					c.file, strings.Join(problems, "\n  "))
			})
		})
	}
}

func TestOrderCRDSchema(t *testing.T) {
	root := loadCRDs(t)["Order"].schema()
	require.NotNil(t, root)
	spec := root.at("spec")
	require.NotNil(t, spec)

	t.Run("artifact spec is free-form", func(t *testing.T) {
		s := root.at("spec.artifacts.[].spec")
		require.NotNil(t, s)
		assert.Equal(t, "object", s.Type)
		require.NotNil(t, s.PreserveUnknownFields, "x-kubernetes-preserve-unknown-fields missing")
		assert.True(t, *s.PreserveUnknownFields)
		assert.Empty(t, s.Properties, "a free-form object lists no properties")
		assert.Nil(t, s.AdditionalProperties)
	})
	t.Run("CEL rules", func(t *testing.T) {
		require.Len(t, spec.Validations, 2)
		for i, ref := range []string{"srcRef", "dstRef"} {
			r := spec.Validations[i]
			assert.Containsf(t, r.Rule, "self.artifacts.all(", "rule %d", i)
			assert.Containsf(t, r.Rule, "has(a."+ref+")", "rule %d", i)
			assert.Containsf(t, r.Rule, "self.defaults."+ref+".name", "rule %d", i)
			assert.Containsf(t, r.Message, "spec.defaults."+ref, "rule %d", i)
			assert.Truef(t, balanced(r.Rule), "rule %d has unbalanced parentheses or quotes: %s", i, r.Rule)
			assert.Containsf(t, r.Rule, "!= ''", "rule %d compares with the empty CEL string ''", i)
			assert.NotContainsf(t, r.Rule, "\u201d", "rule %d holds a typographic quote (gofmt rewrote '' in a doc comment?)", i)
		}
	})
	t.Run("artifacts bounds", func(t *testing.T) {
		a := root.at("spec.artifacts")
		require.NotNil(t, a)
		assert.Equal(t, "array", a.Type)
		require.NotNil(t, a.MaxItems)
		require.NotNil(t, a.MinItems)
		assert.EqualValues(t, 1000, *a.MaxItems)
		assert.EqualValues(t, v1alpha1.MaxArtifactsPerOrder, *a.MaxItems, "maxItems must equal v1alpha1.MaxArtifactsPerOrder")
		assert.EqualValues(t, 1, *a.MinItems)
		assert.Contains(t, spec.Required, "artifacts")
	})
	t.Run("phase enum", func(t *testing.T) {
		assert.Equal(t, []string{"Pending", "Running", "Succeeded", "Failed", "Active"}, enumStrings(t, root.at("status.phase")))
	})
	t.Run("the status map of ArtifactWorkflows is one field for managed fields", func(t *testing.T) {
		m := root.at("status.artifactWorkflows")
		require.NotNil(t, m)
		require.NotNil(t, m.MapType, "x-kubernetes-map-type missing: managed fields would list every entry's every field")
		assert.Equal(t, "atomic", *m.MapType)
	})
}

func TestParameterNameSchema(t *testing.T) {
	crds := loadCRDs(t)
	paths := map[string]string{
		"ArtifactType":        "spec.parameters",
		"ClusterArtifactType": "spec.parameters",
		"ArtifactWorkflow":    "spec.parameters",
	}
	for kind, path := range paths {
		t.Run(kind, func(t *testing.T) {
			params := crds[kind].schema().at(path)
			require.NotNil(t, params)
			require.NotNil(t, params.ListType)
			assert.Equal(t, "map", *params.ListType)
			assert.Equal(t, []string{"name"}, params.ListMapKeys)
			name := params.at("[].name")
			require.NotNil(t, name)
			assert.Equal(t, `^[-a-zA-Z0-9_]+$`, name.Pattern)
			re := regexp.MustCompile(name.Pattern)
			for _, ok := range []string{"specImage", "specTags0", "a-b_c", "X", "0"} {
				assert.Truef(t, re.MatchString(ok), "%q should be a valid parameter name", ok)
			}
			for _, bad := range []string{"", "a.b", "a b", "a/b", "ä", "a\n"} {
				assert.Falsef(t, re.MatchString(bad), "%q should be refused", bad)
			}
			assert.Contains(t, params.at("[]").Required, "name")
		})
	}
	t.Run("ArtifactWorkflow maxItems", func(t *testing.T) {
		params := crds["ArtifactWorkflow"].schema().at("spec.parameters")
		require.NotNil(t, params.MaxItems)
		assert.EqualValues(t, v1alpha1.MaxWorkflowParameters, *params.MaxItems)
	})
}

func TestEndpointUsageSchema(t *testing.T) {
	usage := loadCRDs(t)["Endpoint"].schema().at("spec.usage")
	require.NotNil(t, usage)
	assert.Equal(t, "string", usage.Type)
	assert.Equal(t, []string{"PullOnly", "PushOnly", "All"}, enumStrings(t, usage))
	assert.Equal(t, []string{
		string(v1alpha1.EndpointUsagePullOnly), string(v1alpha1.EndpointUsagePushOnly), string(v1alpha1.EndpointUsageAll),
	}, enumStrings(t, usage))
	assert.JSONEq(t, `"All"`, string(usage.Default))
	assert.NotContains(t, loadCRDs(t)["Endpoint"].schema().at("spec").Required, "usage", "usage has a default, so it is optional")
}

func TestClusterArtifactTypeCRDSchema(t *testing.T) {
	spec := loadCRDs(t)["ClusterArtifactType"].schema().at("spec")
	require.NotNil(t, spec)
	require.Len(t, spec.Validations, 1, "the rule that forbids clusterScope: false")
	assert.Contains(t, spec.Validations[0].Rule, "workflowTemplateRef.clusterScope")
	assert.True(t, balanced(spec.Validations[0].Rule))
	local := loadCRDs(t)["ArtifactType"].schema().at("spec")
	require.Len(t, local.Validations, 1, "the rule that forbids clusterScope: true")
	assert.Contains(t, local.Validations[0].Rule, "!self.workflowTemplateRef.clusterScope",
		"a namespaced ArtifactType may use only WorkflowTemplates of its namespace")
	assert.True(t, balanced(local.Validations[0].Rule))
}

// ---------------------------------------------------------------------------
// Structural schema check, after the Kubernetes rules for structural schemas
// ("Specifying a structural schema" in the CRD documentation) and the
// apiextensions validation of CRD schemas.
// ---------------------------------------------------------------------------

var knownTypes = []string{"object", "array", "string", "integer", "number", "boolean"}

func checkStructural(root *jsonSchema) []string {
	var p []string
	add := func(path, format string, args ...any) {
		p = append(p, path+": "+fmt.Sprintf(format, args...))
	}
	if root.Type != "object" {
		add("<root>", "type must be object, is %q", root.Type)
	}
	if root.Nullable {
		add("<root>", "nullable is not allowed at the root")
	}
	for _, f := range []string{"apiVersion", "kind"} {
		if s := root.Properties[f]; s != nil && s.Type != "string" {
			add(f, "type must be string, is %q", s.Type)
		}
	}
	if md := root.Properties["metadata"]; md != nil {
		p = append(p, checkMetadata("metadata", md)...)
	}
	walkStructural("", root, false, add)
	return p
}

// checkMetadata enforces that metadata only restricts name and generateName.
func checkMetadata(path string, md *jsonSchema) []string {
	var p []string
	if md.Type != "object" {
		p = append(p, fmt.Sprintf("%s: type must be object, is %q", path, md.Type))
	}
	for key := range md.raw {
		if key != "type" && key != "properties" {
			p = append(p, fmt.Sprintf("%s: only restrictions of name and generateName are allowed, found %q", path, key))
		}
	}
	for name, s := range md.Properties {
		if name != "name" && name != "generateName" {
			p = append(p, fmt.Sprintf("%s.%s: only name and generateName may be specified", path, name))
			continue
		}
		if s.Type != "string" {
			p = append(p, fmt.Sprintf("%s.%s: type must be string, is %q", path, name, s.Type))
		}
	}
	return p
}

func child(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func walkStructural(path string, s *jsonSchema, inJunctor bool, add func(path, format string, args ...any)) {
	at := path
	if at == "" {
		at = "<root>"
	}
	if s == nil {
		add(at, "empty schema")
		return
	}

	if inJunctor {
		// Rule 3: no description, type, default, additionalProperties or
		// nullable inside allOf/anyOf/oneOf/not (int-or-string excepted, see below).
		if s.Description != "" {
			add(at, "description inside a logical junctor")
		}
		if s.Default != nil {
			add(at, "default inside a logical junctor")
		}
		if s.AdditionalProperties != nil {
			add(at, "additionalProperties inside a logical junctor")
		}
		if s.Nullable {
			add(at, "nullable inside a logical junctor")
		}
		if s.Type != "" {
			add(at, "type inside a logical junctor")
		}
	} else {
		// Rule 1: a non-empty type unless int-or-string or preserve-unknown-fields.
		switch {
		case s.IntOrString:
			if s.Type != "" {
				add(at, "x-kubernetes-int-or-string must not have a type, has %q", s.Type)
			}
		case s.Type == "" && !s.preserves():
			add(at, "no type (needs a type, or x-kubernetes-preserve-unknown-fields or x-kubernetes-int-or-string)")
		}
	}
	if s.Type != "" && !slices.Contains(knownTypes, s.Type) {
		add(at, "unknown type %q", s.Type)
	}

	if s.PreserveUnknownFields != nil && !*s.PreserveUnknownFields {
		add(at, "x-kubernetes-preserve-unknown-fields must be true or absent")
	}
	if s.PreserveUnknownFields != nil && s.Type != "" && s.Type != "object" {
		add(at, "x-kubernetes-preserve-unknown-fields on a %s", s.Type)
	}
	if s.UniqueItems {
		add(at, "uniqueItems cannot be true in CRDs")
	}

	// Arrays have items; items only on arrays.
	if s.Type == "array" && s.Items == nil {
		add(at, "array without items")
	}
	if s.Items != nil && s.Type != "array" && !inJunctor {
		add(at, "items on a node of type %q", s.Type)
	}
	// Properties and additionalProperties only on objects, never both.
	if len(s.Properties) > 0 && s.AdditionalProperties != nil {
		add(at, "properties and additionalProperties are mutually exclusive")
	}
	if (len(s.Properties) > 0 || s.AdditionalProperties != nil) && s.Type != "object" && !inJunctor {
		add(at, "properties or additionalProperties on a node of type %q", s.Type)
	}
	if ap := s.AdditionalProperties; ap != nil {
		if !ap.Allows {
			add(at, "additionalProperties: false is not allowed")
		} else if ap.Schema == nil {
			add(at, "additionalProperties: true is not structural; give a schema or use x-kubernetes-preserve-unknown-fields")
		}
	}
	for _, r := range s.Required {
		if _, ok := s.Properties[r]; !ok && !s.preserves() {
			add(at, "required field %q is not among the properties", r)
		}
	}

	// Value validations fit the type.
	if s.Pattern != "" {
		if s.Type != "string" && !inJunctor {
			add(at, "pattern on a %q", s.Type)
		}
		if _, err := regexp.Compile(s.Pattern); err != nil {
			add(at, "pattern %q does not compile: %v", s.Pattern, err)
		}
	}
	if (s.MaxLength != nil || s.MinLength != nil) && s.Type != "string" && !inJunctor {
		add(at, "maxLength/minLength on a %q", s.Type)
	}
	if (s.MaxItems != nil || s.MinItems != nil) && s.Type != "array" && !inJunctor {
		add(at, "maxItems/minItems on a %q", s.Type)
	}
	if (s.Maximum != nil || s.Minimum != nil) && s.Type != "integer" && s.Type != "number" && !inJunctor {
		add(at, "maximum/minimum on a %q", s.Type)
	}
	if s.MaxLength != nil && s.MinLength != nil && *s.MinLength > *s.MaxLength {
		add(at, "minLength %d > maxLength %d", *s.MinLength, *s.MaxLength)
	}
	if s.MaxItems != nil && s.MinItems != nil && *s.MinItems > *s.MaxItems {
		add(at, "minItems %d > maxItems %d", *s.MinItems, *s.MaxItems)
	}
	if s.Maximum != nil && s.Minimum != nil && *s.Minimum > *s.Maximum {
		add(at, "minimum %v > maximum %v", *s.Minimum, *s.Maximum)
	}
	switch s.Format {
	case "":
	case "int32", "int64":
		if s.Type != "integer" {
			add(at, "format %s on a %q", s.Format, s.Type)
		}
	case "float", "double":
		if s.Type != "number" {
			add(at, "format %s on a %q", s.Format, s.Type)
		}
	default:
		if s.Type != "string" {
			add(at, "format %s on a %q", s.Format, s.Type)
		}
	}
	for i, e := range s.Enum {
		if !jsonFitsType(e, s.Type, s.Nullable) {
			add(at, "enum value %d (%s) is not a %s", i, e, s.Type)
		}
	}
	if s.Default != nil {
		if !jsonFitsType(s.Default, s.Type, s.Nullable) && !s.preserves() && !s.IntOrString {
			add(at, "default %s is not a %s", s.Default, s.Type)
		}
		if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e json.RawMessage) bool { return jsonEqual(e, s.Default) }) {
			add(at, "default %s is not one of the enum values", s.Default)
		}
	}

	// List and map types.
	if lt := s.ListType; lt != nil {
		if s.Type != "array" {
			add(at, "x-kubernetes-list-type on a %q", s.Type)
		}
		switch *lt {
		case "atomic":
		case "set":
			if it := s.Items; it != nil && it.Type == "object" && (it.MapType == nil || *it.MapType != "atomic") {
				add(at, "x-kubernetes-list-type set needs scalar items or items with x-kubernetes-map-type atomic")
			}
			if it := s.Items; it != nil && it.Type == "array" {
				add(at, "x-kubernetes-list-type set with array items")
			}
		case "map":
			it := s.Items
			switch {
			case it == nil || it.Type != "object":
				add(at, "x-kubernetes-list-type map needs items of type object")
			case len(s.ListMapKeys) == 0:
				add(at, "x-kubernetes-list-type map needs x-kubernetes-list-map-keys")
			default:
				for _, k := range s.ListMapKeys {
					ks := it.Properties[k]
					switch {
					case ks == nil:
						add(at, "list map key %q is not a property of the items", k)
					case ks.Type == "object" || ks.Type == "array" || ks.Type == "":
						add(at, "list map key %q must be a scalar, is %q", k, ks.Type)
					case !slices.Contains(it.Required, k) && ks.Default == nil:
						add(at, "list map key %q must be required or have a default", k)
					}
				}
			}
		default:
			add(at, "unknown x-kubernetes-list-type %q", *lt)
		}
	}
	if len(s.ListMapKeys) > 0 && (s.ListType == nil || *s.ListType != "map") {
		add(at, "x-kubernetes-list-map-keys without x-kubernetes-list-type map")
	}
	if mt := s.MapType; mt != nil {
		if *mt != "atomic" && *mt != "granular" {
			add(at, "unknown x-kubernetes-map-type %q", *mt)
		}
		if s.Type != "object" {
			add(at, "x-kubernetes-map-type on a %q", s.Type)
		}
	}
	if s.EmbeddedResource {
		if s.Type != "object" {
			add(at, "x-kubernetes-embedded-resource needs type object")
		}
		if len(s.Properties) == 0 && !s.preserves() {
			add(at, "x-kubernetes-embedded-resource needs properties or x-kubernetes-preserve-unknown-fields")
		}
		if md := s.Properties["metadata"]; md != nil {
			for _, msg := range checkMetadata(child(path, "metadata"), md) {
				add(at, "%s", msg)
			}
		}
	}
	for i, v := range s.Validations {
		if strings.TrimSpace(v.Rule) == "" {
			add(at, "x-kubernetes-validations[%d] has an empty rule", i)
		}
		if strings.TrimSpace(v.Message) == "" && strings.TrimSpace(v.MessageExpression) == "" {
			add(at, "x-kubernetes-validations[%d] has no message: users would see the bare rule", i)
		}
		if strings.ContainsAny(v.Message, "\n") {
			add(at, "x-kubernetes-validations[%d] message contains a line break", i)
		}
	}

	// Rule 2: what the junctors specify is specified outside them too.
	for _, j := range junctors(s) {
		for name := range j.Properties {
			if _, ok := s.Properties[name]; !ok {
				add(at, "property %q is specified in a logical junctor only", name)
			}
		}
		if j.Items != nil && s.Items == nil {
			add(at, "items are specified in a logical junctor only")
		}
	}
	// Recurse.
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		walkStructural(child(path, name), s.Properties[name], inJunctor, add)
	}
	if s.Items != nil {
		walkStructural(path+"[]", s.Items, inJunctor, add)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		walkStructural(path+"{}", s.AdditionalProperties.Schema, inJunctor, add)
	}
	for i, j := range junctors(s) {
		if s.IntOrString && isIntOrStringJunctor(j) {
			continue
		}
		walkStructural(fmt.Sprintf("%s<junctor %d>", path, i), j, true, add)
	}
}

func junctors(s *jsonSchema) []*jsonSchema {
	var out []*jsonSchema
	out = append(out, s.AllOf...)
	out = append(out, s.AnyOf...)
	out = append(out, s.OneOf...)
	if s.Not != nil {
		out = append(out, s.Not)
	}
	return out
}

// isIntOrStringJunctor recognises the two shapes Kubernetes allows for
// x-kubernetes-int-or-string: anyOf [integer, string], optionally in allOf.
func isIntOrStringJunctor(j *jsonSchema) bool {
	if j.Type == "integer" || j.Type == "string" {
		return true
	}
	if len(j.AnyOf) == 2 && j.AnyOf[0].Type == "integer" && j.AnyOf[1].Type == "string" {
		return true
	}
	return false
}

func jsonFitsType(raw json.RawMessage, typ string, nullable bool) bool {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return false
	}
	switch v := v.(type) {
	case nil:
		return nullable
	case string:
		return typ == "string"
	case bool:
		return typ == "boolean"
	case json.Number:
		if typ == "integer" {
			_, err := v.Int64()
			return err == nil
		}
		return typ == "number"
	case []any:
		return typ == "array"
	case map[string]any:
		return typ == "object"
	}
	return false
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func enumStrings(t *testing.T, s *jsonSchema) []string {
	t.Helper()
	require.NotNil(t, s)
	var out []string
	for _, e := range s.Enum {
		var str string
		require.NoError(t, json.Unmarshal(e, &str), "enum value %s", e)
		out = append(out, str)
	}
	return out
}

// balanced reports whether parentheses balance outside CEL string literals
// and every string literal is closed. A cheap guard against a rule mangled
// while being copied from a marker.
func balanced(rule string) bool {
	depth := 0
	var quote rune
	for _, r := range rule {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '(':
			depth++
		case r == ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0 && quote == 0
}

// missingDescriptions lists the property paths below s without description.
// Items and map values are walked too, but only named properties need one:
// that is what kubectl explain prints per field.
func missingDescriptions(path string, s *jsonSchema) []string {
	if s == nil {
		return nil
	}
	var out []string
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := s.Properties[name]
		if strings.TrimSpace(p.Description) == "" {
			out = append(out, path+"."+name)
		}
		out = append(out, missingDescriptions(path+"."+name, p)...)
	}
	if s.Items != nil {
		out = append(out, missingDescriptions(path+"[]", s.Items)...)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		out = append(out, missingDescriptions(path+"{}", s.AdditionalProperties.Schema)...)
	}
	return out
}

// ---------------------------------------------------------------------------
// Schema versus Go types: catches CRDs not regenerated after a type change.
// ---------------------------------------------------------------------------

func compareWithGo(path string, t reflect.Type, s *jsonSchema) []string {
	if s == nil {
		return []string{path + ": in the Go types but not in the schema"}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var p []string
	want := ""
	switch {
	case t == durationT:
		want = "string"
	case t == metaTime || t == timeType || t == microTime:
		want = "string"
		if s.Format != "date-time" {
			p = append(p, fmt.Sprintf("%s: a time needs format date-time, has %q", path, s.Format))
		}
	case t == rawExtType:
		want = "object"
		if !s.preserves() {
			p = append(p, path+": a RawExtension needs x-kubernetes-preserve-unknown-fields: true")
		}
	default:
		switch t.Kind() {
		case reflect.String:
			want = "string"
		case reflect.Bool:
			want = "boolean"
		case reflect.Int32, reflect.Int64, reflect.Int:
			want = "integer"
			if f := "int" + fmt.Sprint(t.Bits()); t.Kind() != reflect.Int && s.Format != f {
				p = append(p, fmt.Sprintf("%s: format %q, want %q", path, s.Format, f))
			}
		case reflect.Float32, reflect.Float64:
			want = "number"
		case reflect.Slice:
			want = "array"
			if t.Elem().Kind() == reflect.Uint8 {
				want = "string"
			} else {
				p = append(p, compareWithGo(path+"[]", t.Elem(), s.Items)...)
			}
		case reflect.Map:
			want = "object"
			if s.AdditionalProperties == nil || s.AdditionalProperties.Schema == nil {
				p = append(p, path+": a map needs additionalProperties")
			} else {
				p = append(p, compareWithGo(path+"{}", t.Elem(), s.AdditionalProperties.Schema)...)
			}
		case reflect.Struct:
			want = "object"
			p = append(p, compareStruct(path, t, s)...)
		}
	}
	if s.Type != want {
		p = append(p, fmt.Sprintf("%s: schema type %q, Go type %s wants %q", path, s.Type, t, want))
	}
	return p
}

func compareStruct(path string, t reflect.Type, s *jsonSchema) []string {
	var p []string
	fields := map[string]reflect.StructField{}
	var collect func(t reflect.Type)
	collect = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, inline := jsonName(f)
			switch {
			case inline:
				collect(f.Type)
			case name != "":
				fields[name] = f
			}
		}
	}
	collect(t)

	var names []string
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	var required []string
	for _, name := range names {
		f := fields[name]
		p = append(p, compareWithGo(path+"."+name, f.Type, s.Properties[name])...)
		_, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		optional := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		if !optional {
			required = append(required, name)
		}
	}
	for name := range s.Properties {
		if _, ok := fields[name]; !ok {
			p = append(p, fmt.Sprintf("%s.%s: in the schema but not in the Go type %s", path, name, t))
		}
	}
	got := slices.Clone(s.Required)
	sort.Strings(got)
	if !slices.Equal(required, got) {
		p = append(p, fmt.Sprintf("%s: required %v, but the Go fields without omitempty are %v", path, got, required))
	}
	return p
}

// ---------------------------------------------------------------------------
// The checks above must be able to fail: feed them broken schemas.
// ---------------------------------------------------------------------------

func parseSchema(t *testing.T, y string) (*jsonSchema, error) {
	t.Helper()
	data, err := yaml.YAMLToJSON([]byte(y))
	require.NoError(t, err)
	s := new(jsonSchema)
	return s, json.Unmarshal(data, s)
}

func TestStructuralCheckerCatches(t *testing.T) {
	const ok = `
type: object
properties:
  metadata: {type: object}
  spec:
    type: object
    description: fine
    properties:
      free: {type: object, x-kubernetes-preserve-unknown-fields: true, description: d}
      port: {x-kubernetes-int-or-string: true, anyOf: [{type: integer}, {type: string}], description: d}
      list:
        type: array
        description: d
        x-kubernetes-list-type: map
        x-kubernetes-list-map-keys: [name]
        items: {type: object, required: [name], properties: {name: {type: string, description: d}}}
`
	cases := []struct {
		name   string
		schema string
		want   string // substring of a reported problem; empty: no problem
	}{
		{"valid", ok, ""},
		{"missing type", `{type: object, properties: {spec: {properties: {a: {type: string}}}}}`, "spec: no type"},
		{"missing root type", `{properties: {spec: {type: object}}}`, "<root>: type must be object"},
		{"missing item type", `{type: object, properties: {a: {type: array, items: {description: x}}}}`, "a[]: no type"},
		{"missing map value type", `{type: object, properties: {a: {type: object, additionalProperties: {description: x}}}}`, "a{}: no type"},
		{"array without items", `{type: object, properties: {a: {type: array}}}`, "a: array without items"},
		{"properties with additionalProperties", `{type: object, properties: {a: {type: object, properties: {b: {type: string}}, additionalProperties: {type: string}}}}`, "mutually exclusive"},
		{"additionalProperties false", `{type: object, properties: {a: {type: object, additionalProperties: false}}}`, "additionalProperties: false"},
		{"preserve false", `{type: object, properties: {a: {type: object, x-kubernetes-preserve-unknown-fields: false}}}`, "must be true or absent"},
		{"metadata restricted", `{type: object, properties: {metadata: {type: object, properties: {labels: {type: object}}}}}`, "only name and generateName"},
		{"metadata default", `{type: object, properties: {metadata: {type: object, default: {}}}}`, `found "default"`},
		{"metadata name ok", `{type: object, properties: {metadata: {type: object, properties: {name: {type: string, maxLength: 63}}}}}`, ""},
		{"description in junctor", `{type: object, properties: {a: {type: string, anyOf: [{description: x}]}}}`, "description inside a logical junctor"},
		{"type in junctor", `{type: object, properties: {a: {type: string, oneOf: [{type: string}]}}}`, "type inside a logical junctor"},
		{"property only in junctor", `{type: object, properties: {a: {type: object, allOf: [{properties: {b: {}}}]}}}`, `property "b" is specified in a logical junctor only`},
		{"int-or-string with type", `{type: object, properties: {a: {type: string, x-kubernetes-int-or-string: true}}}`, "must not have a type"},
		{"required unknown", `{type: object, required: [nope], properties: {a: {type: string}}}`, `required field "nope"`},
		{"bad pattern", `{type: object, properties: {a: {type: string, pattern: "([a-z"}}}`, "does not compile"},
		{"default not in enum", `{type: object, properties: {a: {type: string, enum: [A, B], default: C}}}`, "not one of the enum values"},
		{"default wrong type", `{type: object, properties: {a: {type: integer, default: "1"}}}`, "is not a integer"},
		{"enum wrong type", `{type: object, properties: {a: {type: string, enum: [1]}}}`, "enum value 0"},
		{"list map without keys", `{type: object, properties: {a: {type: array, x-kubernetes-list-type: map, items: {type: object}}}}`, "needs x-kubernetes-list-map-keys"},
		{"list map key optional", `{type: object, properties: {a: {type: array, x-kubernetes-list-type: map, x-kubernetes-list-map-keys: [k], items: {type: object, properties: {k: {type: string}}}}}}`, "must be required or have a default"},
		{"list set of objects", `{type: object, properties: {a: {type: array, x-kubernetes-list-type: set, items: {type: object}}}}`, "needs scalar items"},
		{"map type on string", `{type: object, properties: {a: {type: string, x-kubernetes-map-type: atomic}}}`, "x-kubernetes-map-type on a"},
		{"min above max", `{type: object, properties: {a: {type: array, items: {type: string}, minItems: 3, maxItems: 2}}}`, "minItems 3 > maxItems 2"},
		{"unique items", `{type: object, properties: {a: {type: array, items: {type: string}, uniqueItems: true}}}`, "uniqueItems"},
		{"rule without message", `{type: object, x-kubernetes-validations: [{rule: "self.a > 0"}], properties: {a: {type: integer}}}`, "has no message"},
		{"unknown type", `{type: object, properties: {a: {type: str}}}`, `unknown type "str"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := parseSchema(t, c.schema)
			require.NoError(t, err)
			problems := checkStructural(s)
			if c.want == "" {
				assert.Empty(t, problems)
				return
			}
			assert.Truef(t, slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, c.want) }),
				"want a problem containing %q, got %q", c.want, problems)
		})
	}
}

func TestSchemaDecodingRefusesForbiddenKeywords(t *testing.T) {
	for _, kw := range []string{"$ref", "definitions", "patternProperties", "dependencies", "additionalItems", "id", "$schema", "typo"} {
		t.Run(kw, func(t *testing.T) {
			_, err := parseSchema(t, fmt.Sprintf(`{type: object, properties: {a: {type: object, %q: {}}}}`, kw))
			assert.Error(t, err, "%s must not be accepted in a CRD schema", kw)
		})
	}
}

func TestDescriptionCheckerCatches(t *testing.T) {
	s, err := parseSchema(t, `{type: object, description: d, properties: {a: {type: array, description: d, items: {type: object, properties: {b: {type: string}}}}, c: {type: string}}}`)
	require.NoError(t, err)
	assert.Equal(t, []string{"spec.a[].b", "spec.c"}, missingDescriptions("spec", s))
}

func TestGoComparisonCatches(t *testing.T) {
	s, err := parseSchema(t, `{type: object, required: [type], properties: {type: {type: string}, remoteURL: {type: integer}, extra: {type: string}}}`)
	require.NoError(t, err)
	problems := strings.Join(compareWithGo("spec", reflect.TypeFor[v1alpha1.EndpointSpec](), s), "\n")
	assert.Contains(t, problems, "spec.remoteURL: schema type \"integer\"")
	assert.Contains(t, problems, "spec.extra: in the schema but not in the Go type")
	assert.Contains(t, problems, "spec.secretRef: in the Go types but not in the schema")
	assert.Contains(t, problems, "required [type], but the Go fields without omitempty are [remoteURL type]")
}
