// Package specschema validates an artifact's free-form JSON spec against the
// OpenAPI v3 schema its ArtifactType declares in spec.specSchema.
//
// The schema dialect is exactly the one CustomResourceDefinitions use, so an
// ArtifactType author gets the behaviour they know from writing a CRD:
//
//   - Compile refuses every schema the API server would refuse as the schema
//     of a CRD's spec field, plus a few things this package deliberately
//     does not support (see Compile).
//   - Validate runs the same pipeline the API server runs when a custom
//     resource is created with strict field validation: strict JSON decoding,
//     unknown-field detection (pruning), embedded ObjectMeta checks, the
//     OpenAPI schema validator and the list-type invariants.
//
// The structural-schema checks, pruning, ObjectMeta and list-type code is
// the API server's own (k8s.io/apiextensions-apiserver). The rest of the
// CRD dialect's rules and the validator's setup are this package's, because
// the API server's packages for them link CEL into the controller (see
// dialect.go); differential tests and a fuzz target hold them to the API
// server's results, message for message.
//
// The package is pure: no API calls, no package-level mutable state. A
// compiled *Schema is immutable and safe for concurrent use, so callers can
// cache one per ArtifactType generation.
package specschema

import (
	"bytes"
	"crypto/sha256"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kube-openapi/pkg/validation/spec"
	kjson "sigs.k8s.io/json"
)

// MaxSchemaBytes is the largest raw schema Compile accepts. A spec schema
// describes a handful of fields; the bound keeps a hostile or accidental
// multi-megabyte ArtifactType from making every Order reconcile expensive
// (compilation walks and converts the whole schema several times).
const MaxSchemaBytes = 64 << 10

// SchemaFieldRoot and SpecFieldRoot are the roots of the field paths in the
// errors of Compile and Validate: they are named after the fields that hold
// the documents (ArtifactType spec.specSchema and the artifact's spec), so a
// message can be read without knowing this package.
const (
	SchemaFieldRoot = "specSchema"
	SpecFieldRoot   = "spec"
)

// Schema is a compiled spec schema. It is immutable once Compile returns it,
// but for its cache of results, and safe for concurrent use by any number
// of goroutines.
type Schema struct {
	// results remembers what Validate said about recent specs, by their
	// SHA-256: an Order is synced again on every change of one of its
	// ArtifactWorkflows and on every resync, and validating its unchanged
	// specs again each time was the largest cost of a sync. A result
	// depends only on the schema and the spec, so it never goes stale; a
	// new schema is a new Schema.
	results resultCache

	// structural drives pruning (unknown-field detection), embedded
	// ObjectMeta checks and list-type checks, exactly as in the API server.
	structural *structuralschema.Structural
	// openapi is the schema kube-openapi's validator checks, converted as
	// the API server converts the schema of a CRD version (see openapi.go).
	openapi *spec.Schema
}

// Compile parses raw, the JSON of an OpenAPI v3 schema as stored in an
// ArtifactType's spec.specSchema, and returns the compiled schema.
//
// Compile refuses, with every problem listed in an *Error whose field paths
// are rooted at "specSchema" (e.g. `specSchema.properties[image].pattern`):
//   - raw larger than MaxSchemaBytes, invalid JSON, or not a JSON object;
//   - duplicate keys, keys that are not part of the CRD schema dialect
//     (strict decoding, case-sensitive: "Type" is not "type"), or keys of
//     the wrong JSON type;
//   - a top level that is not `type: object`;
//   - anything the API server refuses in a CRD schema: non-structural
//     schemas, unknown types, $ref, uniqueItems, additionalProperties next to
//     properties, invalid list/map extensions, malformed patterns, ...;
//   - x-kubernetes-validations (CEL rules): not supported, and refused rather
//     than silently ignored so that an author never believes a rule is
//     enforced when it is not;
//   - default: this package only validates and never rewrites a spec, so a
//     default would silently never be applied; it is refused for the same
//     reason.
func Compile(raw []byte) (*Schema, error) {
	wrapper, verr := wrapSchema(raw)
	if verr != nil {
		return nil, verr
	}
	structural, errs := dialectErrors(wrapper)
	if len(errs) > 0 {
		return nil, newError(errs)
	}
	return &Schema{structural: structural, openapi: openAPISchema(structural)}, nil
}

// wrapSchema decodes raw strictly, checks its keys and its top level, and
// returns it as the spec property of an object schema: the position an
// artifact's spec has in a custom resource, so that the dialect's rules and
// the validator's messages are exactly those of a CRD's spec.
func wrapSchema(raw []byte) (*apiextensions.JSONSchemaProps, *Error) {
	root := field.NewPath(SchemaFieldRoot)
	if len(raw) > MaxSchemaBytes {
		return nil, newError(field.ErrorList{field.TooLong(root, omitValue, MaxSchemaBytes).WithOrigin("maxSchemaBytes")})
	}

	// Generic, strict decode first: it reports duplicate keys and JSON
	// syntax errors, and the generic tree lets checkSchemaKeys name the
	// exact path of every unknown or mistyped key, which typed decoding
	// cannot do (the v1 types' custom unmarshalers lose strictness).
	var generic any
	strictErrs, err := kjson.UnmarshalStrict(raw, &generic)
	if err != nil {
		return nil, newError(field.ErrorList{field.Invalid(root, omitValue, "invalid JSON: "+err.Error())})
	}
	if _, ok := generic.(map[string]any); !ok {
		return nil, newError(field.ErrorList{field.TypeInvalid(root, omitValue, "must be a JSON object holding an OpenAPI v3 schema")})
	}
	var errs field.ErrorList
	for _, e := range strictErrs {
		errs = append(errs, field.Invalid(root, omitValue, e.Error()))
	}
	errs = append(errs, checkSchemaKeys(generic, root)...)
	if len(errs) > 0 {
		return nil, newError(errs)
	}

	var v1Props apiextensionsv1.JSONSchemaProps
	if err := utiljson.Unmarshal(raw, &v1Props); err != nil {
		// checkSchemaKeys already vetted keys and JSON types, so this is
		// only reachable through e.g. an integer overflowing int64.
		return nil, newError(field.ErrorList{field.Invalid(root, omitValue, err.Error())})
	}
	props := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(&v1Props, props, nil); err != nil {
		return nil, newError(field.ErrorList{field.Invalid(root, omitValue, "converting schema: "+err.Error())})
	}

	// The spec of an artifact is always a JSON object (an empty spec is
	// validated as {}), so any other top-level type could never match.
	if props.Type != "object" {
		if props.Type == "" {
			errs = append(errs, field.Required(root.Child("type"), `must be "object" at the top of specSchema`))
		} else {
			errs = append(errs, field.NotSupported(root.Child("type"), props.Type, []string{"object"}))
		}
	}
	if props.XIntOrString {
		errs = append(errs, field.Forbidden(root.Child("x-kubernetes-int-or-string"), "must not be set at the top of specSchema: the spec is an object"))
	}
	if len(errs) > 0 {
		return nil, newError(errs)
	}
	// The spec is validated as the "spec" property of an object, the very
	// position it has in a custom resource, so that messages read exactly
	// like the API server's ("spec.image in body should match ...").
	return &apiextensions.JSONSchemaProps{
		Type:       "object",
		Properties: map[string]apiextensions.JSONSchemaProps{SpecFieldRoot: *props},
	}, nil
}

// Validate checks spec, the JSON of an artifact's spec, against the schema.
// nil, empty or `null` input is validated as the empty object {}, the way an
// omitted spec reads to a workflow, so that required fields are still
// enforced.
//
// It returns nil or an *Error listing every violation, with field paths
// rooted at "spec" (e.g. `spec.image: Invalid value: "x y": spec.image in
// body should match '^[a-z0-9/._:-]+$'`), sorted by path; its message is
// capped (see Error).
//
// Validation is what the API server does for a custom resource created with
// strict field validation, minus every step that rewrites the object: the
// caller keeps using the spec as is, so anything the API server would
// silently drop is reported instead:
//   - numbers are decoded like the API server decodes custom resources
//     (sigs.k8s.io/json with PreserveInts: a number without fraction or
//     exponent that fits is an int64, anything else a float64), and the
//     same kube-openapi type check follows: `type: integer` accepts 3, and
//     also 3.0 and 1e2 (integral floats within ±2^53), but not 1.5 or 1e20;
//     `type: number` accepts both;
//   - duplicate keys are refused (strict decoding);
//   - keys not declared by the schema are refused as "field not declared in
//     schema" unless x-kubernetes-preserve-unknown-fields or
//     additionalProperties allows them (the API server prunes them, or
//     refuses them under fieldValidation=Strict);
//   - a null value is refused unless the field is nullable (the API server
//     silently drops such nulls inside objects before validating);
//   - no defaults are applied (Compile refuses `default`);
//   - embedded resources (x-kubernetes-embedded-resource) get the
//     apiVersion/kind/metadata checks, and x-kubernetes-list-type set/map
//     lists the uniqueness checks, of the API server.
func (s *Schema) Validate(spec []byte) error {
	key := sha256.Sum256(spec)
	if err, ok := s.results.get(key); ok {
		return err
	}
	err := s.validate(spec)
	s.results.put(key, err)
	return err
}

// maxCachedResults bounds the results one Schema remembers: about 100 KiB
// for the specs of several large Orders of one type. When full, it starts
// afresh.
const maxCachedResults = 4096

// resultCache maps the SHA-256 of a spec to what Validate said about it.
type resultCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]error
}

func (c *resultCache) get(key [sha256.Size]byte) (error, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	err, ok := c.entries[key]
	return err, ok
}

func (c *resultCache) put(key [sha256.Size]byte, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCachedResults {
		c.entries = make(map[[sha256.Size]byte]error)
	}
	c.entries[key] = err
}

// validate is Validate without the cache.
func (s *Schema) validate(spec []byte) error {
	specObj, errs := decodeSpec(spec)
	if specObj == nil {
		return newError(errs)
	}
	// Everything below sees {"spec": <spec>} against the wrapper schema and
	// a nil root path, as the API server sees a custom resource; paths thus
	// come out as "spec.…" in both the field and the message.
	obj := map[string]any{SpecFieldRoot: specObj}

	// Order as in the API server: prune (here only to find unknown fields;
	// the pruned copy is ours), coerce embedded ObjectMeta, then validate.
	for _, p := range pruning.PruneWithOptions(obj, s.structural, false, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		errs = append(errs, unknownField(p))
	}
	coerceErr, unknownMeta := objectmeta.CoerceWithOptions(nil, obj, s.structural, false, objectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	if coerceErr != nil {
		errs = append(errs, coerceErr)
	}
	for _, p := range unknownMeta {
		errs = append(errs, unknownField(p))
	}
	errs = append(errs, resultErrors(newValidator(s.openapi).Validate(obj))...)
	errs = append(errs, objectmeta.Validate(nil, obj, s.structural, false)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, s.structural, obj)...)
	if len(errs) == 0 {
		return nil
	}
	return newError(errs)
}

// decodeSpec decodes spec the way the API server decodes a custom resource
// under strict field validation (sigs.k8s.io/json: case-sensitive,
// integers kept as int64, duplicate keys reported). It returns a nil object
// only when decoding failed altogether; duplicate-key errors come with a
// usable object so that the other violations are reported too.
func decodeSpec(spec []byte) (any, field.ErrorList) {
	root := field.NewPath(SpecFieldRoot)
	trimmed := bytes.TrimSpace(spec)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return map[string]any{}, nil
	}
	var obj any
	strictErrs, err := kjson.UnmarshalStrict(trimmed, &obj)
	if err != nil {
		return nil, field.ErrorList{field.Invalid(root, omitValue, "invalid JSON: "+err.Error())}
	}
	var errs field.ErrorList
	for _, e := range strictErrs {
		errs = append(errs, field.Invalid(root, omitValue, e.Error()))
	}
	return obj, errs
}

// unknownField turns a path reported by the pruning algorithm
// (dot-separated, e.g. "spec.foo" or "spec.items[0].bar") into a field
// error.
func unknownField(path string) *field.Error {
	return &field.Error{
		Type:   field.ErrorTypeForbidden,
		Field:  path,
		Detail: "field not declared in schema",
		Origin: "unknownField",
	}
}
