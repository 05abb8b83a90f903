package specschema

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The differential tests: this package applies the CRD dialect's rules and
// builds the OpenAPI validator itself, to keep CEL out of the controller
// (see dialect.go). The tests run the API server's own code, which only the
// test binary links, on the same schemas and specs, and require the same
// verdicts and messages.

// dialectCorpus are schemas that pass the key checks, valid and not, one
// or more per rule of the dialect.
var dialectCorpus = map[string]string{
	"realistic":                   imageSchema,
	"preserve unknown":            `{"type":"object","x-kubernetes-preserve-unknown-fields":true}`,
	"property without type":       `{"type":"object","properties":{"a":{"properties":{"b":{"type":"string"}}}}}`,
	"type inside anyOf":           `{"type":"object","properties":{"a":{"type":"string","anyOf":[{"type":"string"}]}}}`,
	"unknown type":                `{"type":"object","properties":{"a":{"type":"strin"}}}`,
	"type null":                   `{"type":"object","properties":{"a":{"type":"null"}}}`,
	"bad pattern":                 `{"type":"object","properties":{"a":{"type":"string","pattern":"(["}}}`,
	"additionalProperties false":  `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
	"additionalProperties schema": `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"string"}}`,
	"additionalProperties true":   `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":true}`,
	"map of lists":                `{"type":"object","additionalProperties":{"type":"array","items":{"type":"string"}}}`,
	"map of unique lists":         `{"type":"object","additionalProperties":{"type":"array","uniqueItems":true,"items":{"type":"string"}}}`,
	"ref":                         `{"type":"object","properties":{"a":{"$ref":"#/definitions/x"}}}`,
	"id":                          `{"type":"object","properties":{"a":{"type":"string","id":"x"}}}`,
	"uniqueItems":                 `{"type":"object","properties":{"a":{"type":"array","uniqueItems":true,"items":{"type":"string"}}}}`,
	"additionalItems":             `{"type":"object","properties":{"a":{"type":"array","items":{"type":"string"},"additionalItems":false}}}`,
	"items array":                 `{"type":"object","properties":{"a":{"type":"array","items":[{"type":"string"},{"type":"integer"}]}}}`,
	"patternProperties":           `{"type":"object","properties":{"a":{"type":"object","patternProperties":{"^x":{"type":"string"}}}}}`,
	"definitions":                 `{"type":"object","properties":{"a":{"type":"string"}},"definitions":{"d":{"type":"string","uniqueItems":true}}}`,
	"dependencies":                `{"type":"object","properties":{"a":{"type":"string"}},"dependencies":{"a":["b"]}}`,
	"preserve false":              `{"type":"object","properties":{"a":{"type":"object","x-kubernetes-preserve-unknown-fields":false}}}`,
	"map-type granular":           `{"type":"object","properties":{"a":{"type":"object","x-kubernetes-map-type":"granular","additionalProperties":{"type":"string"}}}}`,
	"map-type unknown":            `{"type":"object","properties":{"a":{"type":"object","x-kubernetes-map-type":"loose"}}}`,
	"map-type on string":          `{"type":"object","properties":{"a":{"type":"string","x-kubernetes-map-type":"atomic"}}}`,
	"map-type without type":       `{"type":"object","properties":{"a":{"x-kubernetes-map-type":"atomic"}}}`,
	"list-type on object":         `{"type":"object","properties":{"a":{"type":"object","x-kubernetes-list-type":"set"}}}`,
	"list-type unknown":           `{"type":"object","properties":{"a":{"type":"array","items":{"type":"string"},"x-kubernetes-list-type":"bag"}}}`,
	"set of granular objects":     `{"type":"object","properties":{"a":{"type":"array","x-kubernetes-list-type":"set","items":{"type":"object","properties":{"k":{"type":"string"}}}}}}`,
	"set of atomic objects":       `{"type":"object","properties":{"a":{"type":"array","x-kubernetes-list-type":"set","items":{"type":"object","x-kubernetes-map-type":"atomic","properties":{"k":{"type":"string"}}}}}}`,
	"set of map lists":            `{"type":"object","properties":{"a":{"type":"array","x-kubernetes-list-type":"set","items":{"type":"array","x-kubernetes-list-type":"set","items":{"type":"string"}}}}}`,
	"set of nullable items":       `{"type":"object","properties":{"a":{"type":"array","x-kubernetes-list-type":"set","items":{"type":"string","nullable":true}}}}`,
	"map list":                    `{"type":"object","properties":{"a":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],"items":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"v":{"type":"integer"}}}}}}`,
	"map list without keys":       `{"type":"object","properties":{"a":{"type":"array","x-kubernetes-list-type":"map","items":{"type":"object","properties":{"name":{"type":"string"}}}}}}`,
	"map list of strings":         `{"type":"object","properties":{"a":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],"items":{"type":"string"}}}}`,
	"map list key not required":   `{"type":"object","properties":{"a":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],"items":{"type":"object","properties":{"name":{"type":"string","nullable":true}}}}}}`,
	"map list key missing":        `{"type":"object","properties":{"a":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name","name","id"],"items":{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}}}}`,
	"map list key an object":      `{"type":"object","properties":{"a":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["o"],"items":{"type":"object","required":["o"],"properties":{"o":{"type":"object"}}}}}}`,
	"map keys without map list":   `{"type":"object","properties":{"a":{"type":"array","x-kubernetes-list-map-keys":["name"],"items":{"type":"object","properties":{"name":{"type":"string"}}}}}}`,
	"map keys on atomic list":     `{"type":"object","properties":{"a":{"type":"array","x-kubernetes-list-type":"atomic","x-kubernetes-list-map-keys":["name"],"items":{"type":"object","properties":{"name":{"type":"string"}}}}}}`,
	"embedded resource":           `{"type":"object","properties":{"t":{"type":"object","x-kubernetes-embedded-resource":true,"x-kubernetes-preserve-unknown-fields":true}}}`,
	"embedded without fields":     `{"type":"object","properties":{"t":{"type":"object","x-kubernetes-embedded-resource":true}}}`,
	"embedded inside meta":        `{"type":"object","properties":{"t":{"type":"object","x-kubernetes-embedded-resource":true,"properties":{"metadata":{"type":"object","x-kubernetes-embedded-resource":true,"x-kubernetes-preserve-unknown-fields":true}}}}}`,
	"embedded metadata fields":    `{"type":"object","properties":{"t":{"type":"object","x-kubernetes-embedded-resource":true,"properties":{"metadata":{"type":"object","properties":{"name":{"type":"string"},"labels":{"type":"object","additionalProperties":{"type":"string"}}}}}}}}`,
	"int-or-string":               `{"type":"object","properties":{"port":{"x-kubernetes-int-or-string":true}}}`,
	"int-or-string anyOf":         `{"type":"object","properties":{"port":{"x-kubernetes-int-or-string":true,"anyOf":[{"type":"integer"},{"type":"string"}]}}}`,
	"int-or-string typed":         `{"type":"object","properties":{"port":{"type":"string","x-kubernetes-int-or-string":true}}}`,
	"value validations nested":    `{"type":"object","properties":{"a":{"type":"string","allOf":[{"minLength":2}],"oneOf":[{"pattern":"^a"},{"pattern":"^b"}],"not":{"enum":["ab"]}}}}`,
	"nested with bad nested":      `{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"array","items":{"type":"object","properties":{"c":{"type":"null","uniqueItems":true}}}}}}}}`,
	"not with properties":         `{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"string"}},"not":{"properties":{"b":{"pattern":"^x"}}}}}}`,
	"nullable top":                `{"type":"object","nullable":true}`,
	"metadata property":           `{"type":"object","properties":{"metadata":{"type":"object","properties":{"name":{"type":"string"}}}}}`,
	"formats":                     `{"type":"object","properties":{"a":{"type":"string","format":"date-time"},"b":{"type":"string","format":"my-format"},"c":{"type":"integer","format":"int32"}}}`,
	"enum with wrong type":        `{"type":"object","properties":{"a":{"type":"string","enum":[1,"x"]}}}`,
	"description and title":       `{"type":"object","description":"d","title":"t","properties":{"a":{"type":"string","description":"x","example":"y"}}}`,
	"bounds":                      `{"type":"object","minProperties":1,"maxProperties":3,"properties":{"n":{"type":"number","minimum":0,"exclusiveMinimum":true,"maximum":1,"multipleOf":0.5}}}`,
}

func TestDialectMatchesTheAPIServer(t *testing.T) {
	for name, schema := range dialectCorpus {
		t.Run(name, func(t *testing.T) {
			wrapper, verr := wrapSchema([]byte(schema))
			require.Nil(t, verr, "the corpus holds schemas that reach the dialect's rules")
			want := messages(apiServerDialectErrors(t, wrapper))
			_, errs := dialectErrors(wrapper)
			assert.Equal(t, want, messages(errs))
		})
	}
}

// validationCorpus are specs for some schemas of dialectCorpus, valid and
// not, one or more per check of the validator.
var validationCorpus = map[string][]string{
	"realistic": {validImageSpec, `{}`, `{"image":"A B","replicas":0,"priority":5,"ratio":"x","pullPolicy":"x"}`,
		`{"image":"a","createdAt":"yesterday","platforms":["a","a","b","c","d"],"labels":{"a":1},"closed":{"x":1}}`,
		`{"image":"a","tag":null,"replicas":2.0,"template":{"kind":"ConfigMap"}}`, `{"image":"` + strings.Repeat("a", 300) + `"}`},
	"int-or-string":            {`{"port":80}`, `{"port":"http"}`, `{"port":1.5}`, `{"port":true}`, `{"port":null}`},
	"int-or-string anyOf":      {`{"port":80}`, `{"port":"http"}`, `{"port":[1]}`},
	"value validations nested": {`{"a":"ax"}`, `{"a":"ab"}`, `{"a":"c"}`, `{"a":"a"}`},
	"not with properties":      {`{"a":{"b":"y"}}`, `{"a":{"b":"x"}}`},
	"formats":                  {`{"a":"2024-01-01T00:00:00Z","b":"anything","c":7}`, `{"a":"2024-13-01","b":1,"c":"x"}`},
	"bounds":                   {`{"n":0.5}`, `{}`, `{"n":0}`, `{"n":0.7}`, `{"n":2,"x":1,"y":2,"z":3}`},
	"map list":                 {`{"a":[{"name":"x"},{"name":"y","v":1}]}`, `{"a":[{"name":"x"},{"name":"x"}]}`, `{"a":[{"v":1}]}`},
	"embedded metadata fields": {`{"t":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","labels":{"a":"b"}}}}`, `{"t":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"X_Y","labels":{"a":"b c"}}}}`},
	"preserve unknown":         {`{"anything":[1,{"x":null}]}`},
	"map of lists":             {`{"k":["a","b"]}`, `{"k":"a"}`},
}

func TestValidationMatchesTheAPIServer(t *testing.T) {
	for name, specs := range validationCorpus {
		schema, ok := dialectCorpus[name]
		require.True(t, ok, "no schema %q in the dialect corpus", name)
		compiled := mustCompile(t, schema)
		wrapper, verr := wrapSchema([]byte(schema))
		require.Nil(t, verr)
		reference, _, err := apiservervalidation.NewSchemaValidator(wrapper)
		require.NoError(t, err)
		for _, spec := range specs {
			t.Run(name+" "+spec, func(t *testing.T) {
				obj, errs := decodeSpec([]byte(spec))
				require.Empty(t, errs)
				cr := map[string]any{SpecFieldRoot: obj}
				want := messages(apiservervalidation.ValidateCustomResource(nil, cr, reference))
				assert.Equal(t, want, messages(resultErrors(newValidator(compiled.openapi).Validate(cr))))
			})
		}
	}
}

// messages are the sorted, distinct messages of errs, or nil.
func messages(errs field.ErrorList) []string {
	if len(errs) == 0 {
		return nil
	}
	var out []string
	for _, e := range newError(errs).Violations {
		out = append(out, e.Error())
	}
	return out
}

// apiServerDialectErrors runs the API server's validation of a new CRD on
// a CRD whose schema is wrapper, and returns its errors about the schema,
// with paths rerooted as dialectErrors reroots them.
func apiServerDialectErrors(t *testing.T, wrapper *apiextensions.JSONSchemaProps) field.ErrorList {
	t.Helper()
	const group, plural, version = "specschema.arc.invalid", "specs", "v1"
	preserveUnknownFields := false
	crd := &apiextensions.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group},
		Spec: apiextensions.CustomResourceDefinitionSpec{
			Group:                 group,
			Names:                 apiextensions.CustomResourceDefinitionNames{Plural: plural, Singular: "spec", Kind: "Spec", ListKind: "SpecList"},
			Scope:                 apiextensions.NamespaceScoped,
			Versions:              []apiextensions.CustomResourceDefinitionVersion{{Name: version, Served: true, Storage: true}},
			Validation:            &apiextensions.CustomResourceValidation{OpenAPIV3Schema: wrapper},
			Conversion:            &apiextensions.CustomResourceConversion{Strategy: apiextensions.NoneConverter},
			PreserveUnknownFields: &preserveUnknownFields,
		},
		Status: apiextensions.CustomResourceDefinitionStatus{StoredVersions: []string{version}},
	}
	errs := crdvalidation.ValidateCustomResourceDefinition(context.Background(), crd)
	return rerootErrors(errs, field.NewPath("spec", "validation", "openAPIV3Schema"))
}

// FuzzMatchesTheAPIServer holds the dialect's rules and the validator to
// the API server's on arbitrary schemas and specs, from the corpora above.
func FuzzMatchesTheAPIServer(f *testing.F) {
	for name, schema := range dialectCorpus {
		f.Add(schema, `{}`)
		for _, spec := range validationCorpus[name] {
			f.Add(schema, spec)
		}
	}
	f.Fuzz(func(t *testing.T, schema, spec string) {
		wrapper, verr := wrapSchema([]byte(schema))
		if verr != nil {
			return
		}
		_, errs := dialectErrors(wrapper)
		dialect := messages(errs)
		require.Equal(t, messages(apiServerDialectErrors(t, wrapper)), dialect, "schema %s", schema)
		if dialect != nil {
			return
		}
		compiled := mustCompile(t, schema)
		obj, errs := decodeSpec([]byte(spec))
		if obj == nil || len(errs) > 0 {
			return
		}
		reference, _, err := apiservervalidation.NewSchemaValidator(wrapper)
		require.NoError(t, err)
		cr := map[string]any{SpecFieldRoot: obj}
		require.Equal(t, messages(apiservervalidation.ValidateCustomResource(nil, cr, reference)),
			messages(resultErrors(newValidator(compiled.openapi).Validate(cr))), "schema %s, spec %s", schema, spec)
	})
}
