package specschema

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// imageSchema is a realistic ArtifactType specSchema: a container image
// reference with a pattern, plus a few typical optional fields.
const imageSchema = `{
  "type": "object",
  "required": ["image"],
  "properties": {
    "image":      {"type": "string", "pattern": "^[a-z0-9/._:-]+$", "minLength": 1, "maxLength": 255},
    "tag":        {"type": "string", "nullable": true, "maxLength": 128},
    "pullPolicy": {"type": "string", "enum": ["Always", "IfNotPresent", "Never"]},
    "replicas":   {"type": "integer", "minimum": 1, "maximum": 10},
    "ratio":      {"type": "number"},
    "priority":   {"type": "integer", "enum": [1, 2, 3]},
    "createdAt":  {"type": "string", "format": "date-time"},
    "platforms":  {"type": "array", "maxItems": 4, "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
    "labels":     {"type": "object", "additionalProperties": {"type": "string"}},
    "closed":     {"type": "object", "additionalProperties": false},
    "extra":      {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
    "template":   {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}
  }
}`

// validImageSpec uses every field of imageSchema correctly.
const validImageSpec = `{
  "image": "registry.example.com/team/app:1.2.3",
  "tag": "1.2.3",
  "pullPolicy": "IfNotPresent",
  "replicas": 3,
  "ratio": 0.5,
  "priority": 2,
  "createdAt": "2024-05-01T10:00:00Z",
  "platforms": ["linux/amd64", "linux/arm64"],
  "labels": {"team": "a"},
  "closed": {},
  "extra": {"anything": {"goes": [1, "two"]}},
  "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "v"}}
}`

func mustCompile(t testing.TB, raw string) *Schema {
	t.Helper()
	s, err := Compile([]byte(raw))
	require.NoError(t, err)
	require.NotNil(t, s)
	return s
}

// requireViolations asserts err is an *Error and returns it.
func requireViolations(t *testing.T, err error) *Error {
	t.Helper()
	require.Error(t, err)
	var verr *Error
	require.True(t, errors.As(err, &verr), "error %T is not a *specschema.Error: %v", err, err)
	require.NotEmpty(t, verr.Violations)
	return verr
}

// schemaOfSize returns a valid schema of exactly n bytes, padded through
// its description.
func schemaOfSize(t *testing.T, n int) string {
	t.Helper()
	const head, tail = `{"type":"object","description":"`, `"}`
	pad := n - len(head) - len(tail)
	require.GreaterOrEqual(t, pad, 0)
	s := head + strings.Repeat("x", pad) + tail
	require.Len(t, s, n)
	return s
}

func TestCompile(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		// want lists substrings the error message must contain; nil means
		// the schema must compile.
		want []string
	}{
		{
			name:   "realistic schema compiles",
			schema: imageSchema,
		},
		{
			name:   "open object with preserve-unknown-fields compiles",
			schema: `{"type":"object","x-kubernetes-preserve-unknown-fields":true}`,
		},
		{
			name:   "empty x-kubernetes-validations list is accepted since it enforces nothing",
			schema: `{"type":"object","properties":{"a":{"type":"string"}},"x-kubernetes-validations":[]}`,
		},
		{
			name:   "schema exactly MaxSchemaBytes long is accepted",
			schema: schemaOfSize(t, MaxSchemaBytes),
		},
		{
			name:   "oversized schema refused",
			schema: schemaOfSize(t, MaxSchemaBytes+1),
			want:   []string{"specSchema: Too long: may not be more than 65536 bytes"},
		},
		{
			name:   "schema that is not an object at the top is refused",
			schema: `{"type":"string","pattern":"^a$"}`,
			want:   []string{`specSchema.type: Unsupported value: "string": supported values: "object"`},
		},
		{
			name:   "schema without a top-level type is refused",
			schema: `{"properties":{"a":{"type":"string"}}}`,
			want:   []string{`specSchema.type: Required value`},
		},
		{
			name:   "int-or-string at the top is refused",
			schema: `{"type":"object","x-kubernetes-int-or-string":true}`,
			want:   []string{`specSchema.x-kubernetes-int-or-string: Forbidden`},
		},
		{
			name:   "invalid JSON refused",
			schema: `{"type":"object",`,
			want:   []string{"specSchema: Invalid value: invalid JSON"},
		},
		{
			name:   "JSON array instead of a schema object refused",
			schema: `[{"type":"object"}]`,
			want:   []string{"specSchema: Invalid value: must be a JSON object"},
		},
		{
			name:   "JSON null instead of a schema object refused",
			schema: `null`,
			want:   []string{"specSchema: Invalid value: must be a JSON object"},
		},
		{
			name:   "unknown field in schema refused",
			schema: `{"type":"object","properties":{"image":{"type":"string","patern":"^a$"}}}`,
			want:   []string{"specSchema.properties[image].patern: Forbidden: unknown field"},
		},
		{
			name:   "unknown field nested under items and additionalProperties refused",
			schema: `{"type":"object","properties":{"l":{"type":"array","items":{"type":"string","bogus":1}},"m":{"type":"object","additionalProperties":{"type":"string","maxlength":3}}}}`,
			want: []string{
				"specSchema.properties[l].items.bogus: Forbidden: unknown field",
				"specSchema.properties[m].additionalProperties.maxlength: Forbidden: unknown field",
			},
		},
		{
			name:   "keys are case-sensitive",
			schema: `{"type":"object","properties":{"a":{"Type":"string"}}}`,
			want:   []string{"specSchema.properties[a].Type: Forbidden: unknown field"},
		},
		{
			name:   "keyword of the wrong JSON type refused with its path",
			schema: `{"type":"object","properties":{"a":{"type":"string","maxLength":"5"}}}`,
			want:   []string{"specSchema.properties[a].maxLength: Invalid value: must be an integer"},
		},
		{
			name:   "duplicate key in schema refused",
			schema: `{"type":"object","properties":{"a":{"type":"string"},"a":{"type":"integer"}}}`,
			want:   []string{`specSchema: Invalid value: duplicate field "properties.a"`},
		},
		{
			name:   "non-structural schema refused: property without type",
			schema: `{"type":"object","properties":{"a":{"properties":{"b":{"type":"string"}}}}}`,
			want:   []string{"specSchema.properties[a].type: Required value: must not be empty for specified object fields"},
		},
		{
			name:   "non-structural schema refused: type inside anyOf",
			schema: `{"type":"object","properties":{"a":{"type":"string","anyOf":[{"type":"string"}]}}}`,
			want:   []string{"specSchema.properties[a].anyOf[0].type: Forbidden: must be empty to be structural"},
		},
		{
			name:   "unsupported type refused",
			schema: `{"type":"object","properties":{"a":{"type":"strin"}}}`,
			want:   []string{`specSchema.properties[a].type: Unsupported value: "strin"`},
		},
		{
			name:   "invalid regular expression refused",
			schema: `{"type":"object","properties":{"a":{"type":"string","pattern":"(["}}}`,
			want:   []string{`specSchema.properties[a].pattern: Invalid value: "([": must be a valid regular expression`},
		},
		{
			name:   "additionalProperties false next to properties is refused, as in a CRD",
			schema: `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
			want:   []string{"specSchema.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive"},
		},
		{
			name:   "$ref refused",
			schema: `{"type":"object","properties":{"a":{"$ref":"#/definitions/x"}}}`,
			want:   []string{"specSchema.properties[a].$ref: Forbidden: $ref is not supported"},
		},
		{
			name:   "uniqueItems refused",
			schema: `{"type":"object","properties":{"a":{"type":"array","uniqueItems":true,"items":{"type":"string"}}}}`,
			want:   []string{"specSchema.properties[a].uniqueItems: Forbidden"},
		},
		{
			name:   "x-kubernetes-preserve-unknown-fields false refused",
			schema: `{"type":"object","properties":{"a":{"type":"object","x-kubernetes-preserve-unknown-fields":false}}}`,
			want:   []string{"specSchema.properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined"},
		},
		{
			name:   "x-kubernetes-validations refused",
			schema: `{"type":"object","properties":{"a":{"type":"string","x-kubernetes-validations":[{"rule":"self.size() > 1"}]}}}`,
			want:   []string{"specSchema.properties[a].x-kubernetes-validations: Forbidden: x-kubernetes-validations (CEL rules) are not supported"},
		},
		{
			name:   "default refused because it would never be applied",
			schema: `{"type":"object","properties":{"tag":{"type":"string","default":"latest"}}}`,
			want:   []string{"specSchema.properties[tag].default: Forbidden: default is not supported"},
		},
		{
			name:   "every problem is listed, not only the first",
			schema: `{"type":"object","properties":{"a":{"type":"string","patern":"x"},"b":{"type":"string","x-kubernetes-validations":[{"rule":"true"}]}}}`,
			want: []string{
				"specSchema.properties[a].patern: Forbidden: unknown field",
				"specSchema.properties[b].x-kubernetes-validations: Forbidden",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile([]byte(tt.schema))
			if tt.want == nil {
				require.NoError(t, err)
				require.NotNil(t, s)
				return
			}
			assert.Nil(t, s)
			verr := requireViolations(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Len(t, verr.Violations, len(tt.want), "violations: %v", verr.Violations)
		})
	}
}

func TestValidate(t *testing.T) {
	schema := mustCompile(t, imageSchema)
	tests := []struct {
		name string
		spec string
		// want is the exact error message; "" means the spec must pass.
		want string
	}{
		{
			name: "valid spec passes",
			spec: validImageSpec,
		},
		{
			name: "minimal valid spec passes",
			spec: `{"image":"nginx"}`,
		},
		{
			name: "pattern violation names the field path",
			spec: `{"image":"x y"}`,
			want: `spec.image: Invalid value: "x y": spec.image in body should match '^[a-z0-9/._:-]+$'`,
		},
		{
			name: "missing required field",
			spec: `{"tag":"v1"}`,
			want: `spec.image: Required value`,
		},
		{
			name: "empty spec against schema with required fields",
			spec: ``,
			want: `spec.image: Required value`,
		},
		{
			name: "null spec against schema with required fields",
			spec: `null`,
			want: `spec.image: Required value`,
		},
		{
			name: "blank spec against schema with required fields",
			spec: " \n\t",
			want: `spec.image: Required value`,
		},
		{
			name: "spec that is not an object is refused",
			spec: `["nginx"]`,
			want: `spec: Invalid value: "array": spec in body must be of type object: "array"`,
		},
		{
			name: "invalid JSON refused",
			spec: `{"image":`,
			want: `spec: Invalid value: invalid JSON: unexpected end of JSON input`,
		},
		{
			name: "duplicate key refused like strict decoding",
			spec: `{"image":"a","image":"b"}`,
			want: `spec: Invalid value: duplicate field "image"`,
		},
		{
			name: "unknown key refused like strict field validation",
			spec: `{"image":"a","imag":"b"}`,
			want: `spec.imag: Forbidden: field not declared in schema`,
		},
		{
			name: "unknown keys below x-kubernetes-preserve-unknown-fields pass",
			spec: `{"image":"a","extra":{"x":{"y":[1]}}}`,
		},
		{
			name: "additionalProperties false refuses an unknown key",
			spec: `{"image":"a","closed":{"x":1}}`,
			want: `spec.closed: Invalid value: "x": spec.closed.x in body is a forbidden property`,
		},
		{
			name: "additionalProperties schema applies to every value",
			spec: `{"image":"a","labels":{"ok":"v","bad":1}}`,
			want: `spec.labels.bad: Invalid value: "integer": spec.labels.bad in body must be of type string: "integer"`,
		},
		{
			name: "enum",
			spec: `{"image":"a","pullPolicy":"Sometimes"}`,
			want: `spec.pullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"`,
		},
		{
			name: "enum of integers refuses a value outside it",
			spec: `{"image":"a","priority":4}`,
			want: `spec.priority: Unsupported value: 4: supported values: "1", "2", "3"`,
		},
		{
			name: "maxLength",
			spec: `{"image":"` + strings.Repeat("a", 256) + `"}`,
			want: `spec.image: Too long: may not be more than 255 bytes`,
		},
		{
			name: "maxLength boundary passes",
			spec: `{"image":"` + strings.Repeat("a", 255) + `"}`,
		},
		{
			// The library stops at the first failing string check, so the
			// (also failing) pattern is not reported.
			name: "minLength",
			spec: `{"image":""}`,
			want: `spec.image: Invalid value: "": spec.image in body should be at least 1 chars long`,
		},
		{
			name: "integer vs number: integer passes type integer",
			spec: `{"image":"a","replicas":2}`,
		},
		{
			name: "integer vs number: fractional number refused by type integer",
			spec: `{"image":"a","replicas":2.5}`,
			want: `spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"`,
		},
		{
			name: "integer vs number: integral float passes type integer, as in the API server",
			spec: `{"image":"a","replicas":2.0}`,
		},
		{
			name: "integer vs number: integer beyond float precision refused by type integer",
			spec: `{"image":"a","replicas":100000000000000000000}`,
			want: `spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"; ` +
				`spec.replicas: Invalid value: 1e+20: spec.replicas in body should be less than or equal to 10`,
		},
		{
			name: "integer vs number: quoted number refused",
			spec: `{"image":"a","replicas":"2"}`,
			want: `spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`,
		},
		{
			name: "integer vs number: integer passes type number",
			spec: `{"image":"a","ratio":2}`,
		},
		{
			name: "minimum",
			spec: `{"image":"a","replicas":0}`,
			want: `spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1`,
		},
		{
			name: "maximum",
			spec: `{"image":"a","replicas":11}`,
			want: `spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10`,
		},
		{
			name: "nullable field accepts null",
			spec: `{"image":"a","tag":null}`,
		},
		{
			name: "null refused for a field that is not nullable",
			spec: `{"image":null}`,
			want: `spec.image: Invalid value: "null": spec.image in body must be of type string: "null"`,
		},
		{
			name: "format",
			spec: `{"image":"a","createdAt":"yesterday"}`,
			want: `spec.createdAt: Invalid value: "yesterday": spec.createdAt in body must be of type date-time: "yesterday"`,
		},
		{
			name: "maxItems",
			spec: `{"image":"a","platforms":["a","b","c","d","e"]}`,
			want: `spec.platforms: Too many: 5: must have at most 4 items`,
		},
		{
			name: "list-type set refuses duplicates",
			spec: `{"image":"a","platforms":["linux/amd64","linux/amd64"]}`,
			want: `spec.platforms[1]: Duplicate value: "linux/amd64"`,
		},
		{
			name: "embedded resource requires apiVersion and kind",
			spec: `{"image":"a","template":{"metadata":{"name":"x"}}}`,
			want: `spec.template.apiVersion: Required value; spec.template.kind: Required value`,
		},
		{
			name: "violations are listed sorted by field path",
			spec: `{"replicas":0,"pullPolicy":"x","image":"A B"}`,
			want: `spec.image: Invalid value: "A B": spec.image in body should match '^[a-z0-9/._:-]+$'; ` +
				`spec.pullPolicy: Unsupported value: "x": supported values: "Always", "IfNotPresent", "Never"; ` +
				`spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := schema.Validate([]byte(tt.spec))
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			requireViolations(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestValidateNilSpecAgainstSchemaWithoutRequiredFields(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"a":{"type":"string"}}}`)
	for _, spec := range [][]byte{nil, {}, []byte("null"), []byte("{}")} {
		assert.NoError(t, s.Validate(spec), "spec %q", spec)
	}
}

// manyFieldsSchema has n string properties f00..f(n-1), each with maxLength 1.
func manyFieldsSchema(n int) (schema, violatingSpec string) {
	props := make([]string, n)
	values := make([]string, n)
	for i := range n {
		props[i] = fmt.Sprintf(`"f%02d":{"type":"string","maxLength":1}`, i)
		values[i] = fmt.Sprintf(`"f%02d":"too long"`, i)
	}
	return `{"type":"object","properties":{` + strings.Join(props, ",") + `}}`,
		`{` + strings.Join(values, ",") + `}`
}

func TestValidateCapsListedViolations(t *testing.T) {
	tests := []struct {
		name       string
		violations int
		wantSuffix string
	}{
		{name: "exactly MaxListedViolations violations are all listed", violations: MaxListedViolations, wantSuffix: "spec.f09: Too long: may not be more than 1 byte"},
		{name: "many violations are capped with a count", violations: MaxListedViolations + 5, wantSuffix: "; and 5 more violations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			schemaJSON, spec := manyFieldsSchema(tt.violations)
			err := mustCompile(t, schemaJSON).Validate([]byte(spec))
			verr := requireViolations(t, err)

			// Every violation is kept for programmatic use...
			assert.Len(t, verr.Violations, tt.violations)
			// ...but the message lists at most MaxListedViolations of them.
			msg := err.Error()
			assert.Equal(t, min(tt.violations, MaxListedViolations), strings.Count(msg, "Too long"), msg)
			assert.True(t, strings.HasSuffix(msg, tt.wantSuffix), msg)
			assert.True(t, strings.HasPrefix(msg, "spec.f00: Too long"), msg)
		})
	}
}

func TestValidateTruncatesLongValues(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"image":{"type":"string","pattern":"^[a-z0-9/._:-]+$"}}}`)
	huge := strings.Repeat("A", 100_000)
	err := s.Validate([]byte(`{"image":"` + huge + `"}`))
	verr := requireViolations(t, err)

	// The full value stays available, the message is bounded but keeps
	// the explanation.
	assert.Contains(t, verr.Violations.ToAggregate().Error(), huge)
	msg := err.Error()
	assert.Less(t, len(msg), 2*maxViolationChars, msg)
	assert.Contains(t, msg, "(truncated)")
	assert.True(t, strings.HasSuffix(msg, `: spec.image in body should match '^[a-z0-9/._:-]+$'`), msg)
}

func TestValidateIsDeterministic(t *testing.T) {
	schemaJSON, spec := manyFieldsSchema(30)
	s := mustCompile(t, schemaJSON)
	first := s.Validate([]byte(spec))
	require.Error(t, first)
	for range 20 {
		assert.Equal(t, first.Error(), s.Validate([]byte(spec)).Error())
	}
}

func TestValidateDoesNotModifyInput(t *testing.T) {
	s := mustCompile(t, imageSchema)
	spec := []byte(`{"image":"a","unknown":{"x":1},"tag":null}`)
	orig := string(spec)
	require.Error(t, s.Validate(spec))
	assert.Equal(t, orig, string(spec))
}

func TestSchemaIsSafeForConcurrentUse(t *testing.T) {
	s := mustCompile(t, imageSchema)
	var wg sync.WaitGroup
	errs := make(chan error, 16*50)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if (g+i)%2 == 0 {
					if err := s.Validate([]byte(validImageSpec)); err != nil {
						errs <- fmt.Errorf("valid spec refused: %w", err)
					}
				} else if err := s.Validate([]byte(`{"image":"x y"}`)); err == nil {
					errs <- errors.New("invalid spec accepted")
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkValidate(b *testing.B) {
	s := mustCompile(b, imageSchema)
	for _, bc := range []struct {
		name  string
		spec  string
		valid bool
	}{
		{name: "valid", spec: validImageSpec, valid: true},
		{name: "minimal", spec: `{"image":"registry.example.com/team/app:1.2.3"}`, valid: true},
		{name: "invalid", spec: `{"image":"x y","replicas":0,"pullPolicy":"x","bogus":1}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			spec := []byte(bc.spec)
			b.ReportAllocs()
			for b.Loop() {
				if err := s.validate(spec); (err == nil) != bc.valid {
					b.Fatalf("unexpected result: %v", err)
				}
			}
		})
		// What a sync pays for a spec it saw before.
		b.Run(bc.name+"/cached", func(b *testing.B) {
			spec := []byte(bc.spec)
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Validate(spec); (err == nil) != bc.valid {
					b.Fatalf("unexpected result: %v", err)
				}
			}
		})
	}
}

// The results Validate remembers are the ones it would compute: the same
// verdict and message for a spec seen before, another for another spec,
// and a cache that outgrows its bound starts afresh without losing answers.
func TestValidateRemembersResultsFaithfully(t *testing.T) {
	s := mustCompile(t, imageSchema)
	invalid := []byte(`{"image":"x y","bogus":1}`)
	fresh := s.validate(invalid)
	require.Error(t, fresh)
	for range 3 {
		got := s.Validate(invalid)
		require.Error(t, got)
		assert.Equal(t, fresh.Error(), got.Error())
		assert.NoError(t, s.Validate([]byte(validImageSpec)))
	}
	// One byte changes the verdict: the key is the whole spec.
	assert.Error(t, s.Validate([]byte(`{"image":"x y"}`)))
	assert.NoError(t, s.Validate([]byte(`{"image":"xy"}`)))

	for i := range maxCachedResults + 10 {
		require.NoError(t, s.Validate([]byte(fmt.Sprintf(`{"image":"app%d"}`, i))))
	}
	s.results.mu.Lock()
	n := len(s.results.entries)
	s.results.mu.Unlock()
	assert.LessOrEqual(t, n, maxCachedResults)
	assert.Equal(t, fresh.Error(), s.Validate(invalid).Error())
}

func BenchmarkCompile(b *testing.B) {
	raw := []byte(imageSchema)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(raw); err != nil {
			b.Fatal(err)
		}
	}
}
