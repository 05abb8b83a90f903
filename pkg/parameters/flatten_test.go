package parameters

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// p is shorthand for a parameter in expected results.
func p(name, value string) v1alpha1.Parameter {
	return v1alpha1.Parameter{Name: name, Value: value}
}

func TestFlattenValidSpecs(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want []v1alpha1.Parameter
	}{
		{
			name: "empty spec gives no parameters",
			spec: "",
		},
		{
			name: "white space only gives no parameters",
			spec: " \n\t ",
		},
		{
			name: "JSON null gives no parameters",
			spec: " null ",
		},
		{
			name: "empty object gives no parameters",
			spec: "{}",
		},
		{
			name: "design example: strings and an array of strings",
			spec: `{"image": "library/alpine:3.18", "override": "myteam/alpine:3.18-dev", "tags": ["latest", "v1.0"]}`,
			want: []v1alpha1.Parameter{
				p("specImage", "library/alpine:3.18"),
				p("specOverride", "myteam/alpine:3.18-dev"),
				p("specTags0", "latest"),
				p("specTags1", "v1.0"),
			},
		},
		{
			name: "nested object keys are joined in camelCase",
			spec: `{"foo": {"bar": 1}}`,
			want: []v1alpha1.Parameter{p("specFooBar", "1")},
		},
		{
			name: "only the first letter of each key is upper-cased, the rest is kept",
			spec: `{"fooBAR": {"bazQux": {"x_y-Z": "v"}}}`,
			want: []v1alpha1.Parameter{p("specFooBARBazQuxX_y-Z", "v")},
		},
		{
			name: "arrays of objects continue with the index",
			spec: `{"items": [{"name": "x"}, {"name": "y", "size": 2}]}`,
			want: []v1alpha1.Parameter{
				p("specItems0Name", "x"),
				p("specItems1Name", "y"),
				p("specItems1Size", "2"),
			},
		},
		{
			name: "arrays in arrays append one index per level",
			spec: `{"m": [[1, 2], [3]]}`,
			want: []v1alpha1.Parameter{
				p("specM00", "1"),
				p("specM01", "2"),
				p("specM10", "3"),
			},
		},
		{
			name: "keys may start with a digit, '-' or '_'",
			spec: `{"1a": 1, "_b": 2, "-c": 3}`,
			want: []v1alpha1.Parameter{
				p("spec-c", "3"),
				p("spec1a", "1"),
				p("spec_b", "2"),
			},
		},
		{
			name: "numbers are kept exactly as written",
			spec: `{"int": 1000000, "frac": 0.1, "exp": 1e6, "bigExp": 1E+2, "neg": -0, "huge": 123456789012345678901234567890, "tiny": 5e-324}`,
			want: []v1alpha1.Parameter{
				p("specBigExp", "1E+2"),
				p("specExp", "1e6"),
				p("specFrac", "0.1"),
				p("specHuge", "123456789012345678901234567890"),
				p("specInt", "1000000"),
				p("specNeg", "-0"),
				p("specTiny", "5e-324"),
			},
		},
		{
			name: "booleans become true and false",
			spec: `{"yes": true, "no": false}`,
			want: []v1alpha1.Parameter{p("specNo", "false"), p("specYes", "true")},
		},
		{
			name: "null becomes an empty value",
			spec: `{"a": null, "b": [null]}`,
			want: []v1alpha1.Parameter{p("specA", ""), p("specB0", "")},
		},
		{
			name: "empty objects and arrays give no parameter",
			spec: `{"a": {}, "b": [], "c": [{}, []], "d": 1}`,
			want: []v1alpha1.Parameter{p("specD", "1")},
		},
		{
			name: "strings are unescaped",
			spec: `{"s": "line\nbreak \u00e9 \"q\" \\ /"}`,
			want: []v1alpha1.Parameter{p("specS", "line\nbreak é \"q\" \\ /")},
		},
		{
			name: "empty string stays empty",
			spec: `{"s": ""}`,
			want: []v1alpha1.Parameter{p("specS", "")},
		},
		{
			name: "names are sorted byte-wise, not by the order in the spec",
			spec: `{"a_": 1, "aB": 2, "a0": 3, "a-": 4}`,
			want: []v1alpha1.Parameter{
				p("specA-", "4"),
				p("specA0", "3"),
				p("specAB", "2"),
				p("specA_", "1"),
			},
		},
		{
			name: "indices sort as text: 10 comes before 2",
			spec: `{"t": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}`,
			want: []v1alpha1.Parameter{
				p("specT0", "0"), p("specT1", "1"), p("specT10", "10"),
				p("specT2", "2"), p("specT3", "3"), p("specT4", "4"), p("specT5", "5"),
				p("specT6", "6"), p("specT7", "7"), p("specT8", "8"), p("specT9", "9"),
			},
		},
		{
			name: "keys that differ only after the first letter do not collide",
			spec: `{"fooBar": 1, "foobar": 2}`,
			want: []v1alpha1.Parameter{p("specFooBar", "1"), p("specFoobar", "2")},
		},
		{
			name: "the same key in different objects is fine",
			spec: `{"a": {"x": 1}, "b": {"x": 2}}`,
			want: []v1alpha1.Parameter{p("specAX", "1"), p("specBX", "2")},
		},
		{
			name: "white space around the object is allowed",
			spec: "\n {\"a\": 1} \n",
			want: []v1alpha1.Parameter{p("specA", "1")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Flatten([]byte(tt.spec))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFlattenNilSpecGivesNoParameters(t *testing.T) {
	got, err := Flatten(nil)
	require.NoError(t, err)
	assert.Nil(t, got)
}

func TestFlattenInvalidSpecs(t *testing.T) {
	tests := []struct {
		name       string
		spec       string
		wantPath   string
		wantReason string // a part of the reason that says what is wrong
	}{
		{name: "top-level array", spec: `["a"]`, wantPath: "spec", wantReason: "must be a JSON object, not an array"},
		{name: "top-level string", spec: `"a"`, wantPath: "spec", wantReason: "must be a JSON object, not a string"},
		{name: "top-level number", spec: `12`, wantPath: "spec", wantReason: "must be a JSON object, not a number"},
		{name: "top-level boolean", spec: `true`, wantPath: "spec", wantReason: "must be a JSON object, not a boolean"},
		{name: "invalid JSON before the object", spec: `x`, wantPath: "spec", wantReason: "is not valid JSON: invalid character 'x'"},
		{name: "invalid JSON inside names the enclosing path", spec: `{"a": {"b": }}`, wantPath: "spec.a.b", wantReason: "is not valid JSON: invalid character '}'"},
		{name: "invalid JSON inside an array", spec: `{"a": [1, x]}`, wantPath: "spec.a", wantReason: "is not valid JSON: invalid character 'x'"},
		{name: "missing colon", spec: `{"a" 1}`, wantPath: "spec.a", wantReason: "is not valid JSON"},
		{name: "trailing comma in an object", spec: `{"a": 1,}`, wantPath: "spec", wantReason: "is not valid JSON"},
		{name: "trailing comma in an array", spec: `{"a": [1,]}`, wantPath: "spec.a", wantReason: "is not valid JSON"},
		{name: "truncated object", spec: `{"a": 1`, wantPath: "spec", wantReason: "ends before the JSON object is complete"},
		{name: "truncated string", spec: `{"a": "b`, wantPath: "spec.a", wantReason: "ends before the JSON object is complete"},
		{name: "trailing data after the object", spec: `{"a": 1} x`, wantPath: "spec", wantReason: "holds more data after the end of the JSON object (at byte 8)"},
		{name: "a second object after the first", spec: `{"a": 1}{"b": 2}`, wantPath: "spec", wantReason: "holds more data after the end of the JSON object"},
		{name: "trailing data after null", spec: `null 1`, wantPath: "spec", wantReason: "holds more data after the end of the JSON object"},
		{name: "empty key", spec: `{"a": {"": 1}}`, wantPath: "spec.a", wantReason: "holds an empty key"},
		{
			name:       "key with a space, as in the design",
			spec:       `{"items": [{}, {}, {"a b": 1}]}`,
			wantPath:   "spec.items[2]",
			wantReason: `key "a b" holds characters a workflow parameter name cannot hold (letters, digits, '-' and '_' only)`,
		},
		{name: "key with a dot", spec: `{"a.b": 1}`, wantPath: "spec", wantReason: `key "a.b" holds characters`},
		{name: "key with a slash", spec: `{"a/b": 1}`, wantPath: "spec", wantReason: `key "a/b" holds characters`},
		{name: "key with a unicode letter", spec: `{"é": 1}`, wantPath: "spec", wantReason: `key "é" holds characters`},
		{name: "key with a control character", spec: `{"a\u0000": 1}`, wantPath: "spec", wantReason: `key "a\x00" holds characters`},
		{name: "key with a bad character whose value is empty", spec: `{"a b": {}}`, wantPath: "spec", wantReason: `key "a b" holds characters`},
		{
			name:       "paths at different levels flatten to the same name",
			spec:       `{"a": {"b": 1}, "aB": 2}`,
			wantPath:   "spec.aB",
			wantReason: `flattens to the parameter name "specAB", as spec.a.b does`,
		},
		{
			name:       "array index and key flatten to the same name",
			spec:       `{"tags": ["a", "b"], "tags1": "x"}`,
			wantPath:   "spec.tags1",
			wantReason: `flattens to the parameter name "specTags1", as spec.tags[1] does`,
		},
		{
			name:       "array index and key clash with eleven elements, as in the design",
			spec:       `{"tags": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "tags1": "x"}`,
			wantPath:   "spec.tags1",
			wantReason: `flattens to the parameter name "specTags1", as spec.tags[1] does`,
		},
		{
			// tags1[0] and tags[10] both flatten to specTags10, but the array
			// tags1 already clashes with tags[1]; the shorter name sorts first.
			name:       "a clash of containers is reported before the clashes of their members",
			spec:       `{"tags": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "tags1": ["x"]}`,
			wantPath:   "spec.tags1",
			wantReason: `flattens to the parameter name "specTags1", as spec.tags[1] does`,
		},
		{
			name:       "keys that differ only in the case of the first letter",
			spec:       `{"foo": 1, "Foo": 2}`,
			wantPath:   "spec.Foo",
			wantReason: `flattens to the parameter name "specFoo", as spec.foo does`,
		},
		{
			name:       "a clash is found where one path holds an empty object",
			spec:       `{"a": {"b": {}}, "aB": 1}`,
			wantPath:   "spec.aB",
			wantReason: `as spec.a.b does`,
		},
		{name: "duplicate key", spec: `{"a": 1, "a": 2}`, wantPath: "spec", wantReason: `key "a" appears twice in the same object`},
		{name: "duplicate key with equal values", spec: `{"x": {"a": 1, "a": 1}}`, wantPath: "spec.x", wantReason: `key "a" appears twice`},
		{name: "duplicate key holding objects with different members", spec: `{"a": {"x": 1}, "a": {"y": 2}}`, wantPath: "spec", wantReason: `key "a" appears twice`},
		{name: "duplicate key holding empty arrays", spec: `{"a": [], "a": []}`, wantPath: "spec", wantReason: `key "a" appears twice`},
		{name: "nesting deeper than MaxDepth", spec: nestedArrays(MaxDepth + 1), wantPath: "spec.a" + strings.Repeat("[0]", MaxDepth-1), wantReason: fmt.Sprintf("more than %d levels deep", MaxDepth)},
		{name: "nesting far deeper than MaxDepth", spec: nestedArrays(100000), wantPath: "spec.a" + strings.Repeat("[0]", MaxDepth-1), wantReason: "levels deep"},
		{name: "spec larger than MaxSpecBytes", spec: `{"a": "` + strings.Repeat("x", MaxSpecBytes) + `"}`, wantPath: "spec", wantReason: fmt.Sprintf("more than the %d allowed", MaxSpecBytes)},
		{name: "more than MaxParameters", spec: objectWithKeys(MaxParameters + 1), wantPath: "spec", wantReason: fmt.Sprintf("more than %d parameters", MaxParameters)},
		{name: "more than MaxParameters through an array", spec: `{"a": [` + strings.Repeat("1,", MaxParameters) + `1]}`, wantPath: "spec", wantReason: "more than"},
		{name: "name longer than MaxNameLength", spec: keyOfNameLength(MaxNameLength + 1), wantPath: "spec." + shorten(keyFor(MaxNameLength+1)), wantReason: fmt.Sprintf("parameter name of %d characters, more than the %d allowed", MaxNameLength+1, MaxNameLength)},
		{name: "name made too long by nesting", spec: `{"` + strings.Repeat("a", 100) + `": {"` + strings.Repeat("b", 60) + `": 1}}`, wantPath: "spec." + shorten(strings.Repeat("a", 100)) + "." + strings.Repeat("b", 60), wantReason: "parameter name of 164 characters"},
		{name: "names and values larger than MaxTotalBytes", spec: arrayOfLongNames(), wantPath: "spec", wantReason: fmt.Sprintf("more than %d bytes in total", MaxTotalBytes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Flatten([]byte(tt.spec))
			assert.Nil(t, got)
			var perr *Error
			require.True(t, errors.As(err, &perr), "want *Error, got %v", err)
			assert.Equal(t, tt.wantPath, perr.Path)
			assert.Contains(t, perr.Reason, tt.wantReason)
			assert.Equal(t, perr.Path+": "+perr.Reason, err.Error())
		})
	}
}

func TestErrorReadsAsInTheDesign(t *testing.T) {
	_, err := Flatten([]byte(`{"items": [{}, {}, {"a b": 1}]}`))
	require.Error(t, err)
	assert.Equal(t, `spec.items[2]: key "a b" holds characters a workflow parameter name cannot hold (letters, digits, '-' and '_' only)`, err.Error())
}

func TestErrorShortensLongKeys(t *testing.T) {
	long := strings.Repeat("é", 1000) // 2 bytes a rune, so a byte cut could split one
	_, err := Flatten([]byte(`{"` + long + `": 1}`))
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 250, "a status message should not repeat the whole key")
	assert.Contains(t, err.Error(), `"`+strings.Repeat("é", maxQuotedLength/2)+`..."`)
}

func TestFlattenAcceptsSpecsAtTheLimits(t *testing.T) {
	tests := []struct {
		name      string
		spec      string
		wantCount int
	}{
		{name: "nesting exactly MaxDepth deep", spec: nestedArrays(MaxDepth), wantCount: 1},
		{name: "exactly MaxParameters parameters", spec: objectWithKeys(MaxParameters), wantCount: MaxParameters},
		{name: "a name of exactly MaxNameLength characters", spec: keyOfNameLength(MaxNameLength), wantCount: 1},
		{name: "a spec of exactly MaxSpecBytes", spec: `{"a": "` + strings.Repeat("x", MaxSpecBytes-len(`{"a": ""}`)) + `"}`, wantCount: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Flatten([]byte(tt.spec))
			require.NoError(t, err)
			assert.Len(t, got, tt.wantCount)
		})
	}
}

func TestFlattenKeepsLongNameWhole(t *testing.T) {
	got, err := Flatten([]byte(keyOfNameLength(MaxNameLength)))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "spec"+strings.ToUpper(keyFor(MaxNameLength)[:1])+keyFor(MaxNameLength)[1:], got[0].Name)
	assert.Len(t, got[0].Name, MaxNameLength)
}

func TestMaxParametersLeavesRoomForEndpointAndTypeParameters(t *testing.T) {
	assert.LessOrEqual(t, MaxParameters+EndpointParameterCount+secretNameParameterCount+v1alpha1.MaxTypeParameters, v1alpha1.MaxWorkflowParameters)
}

// nestedArrays returns a spec whose value at "a" sits in arrays nested so that
// the spec has the given depth, the spec object counted as level 1.
func nestedArrays(depth int) string {
	inner := depth - 1 // levels below the spec object
	return `{"a": ` + strings.Repeat("[", inner) + "1" + strings.Repeat("]", inner) + "}"
}

// objectWithKeys returns a spec with n distinct keys k0 ... k<n-1>.
func objectWithKeys(n int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d": %d`, i, i)
	}
	b.WriteByte('}')
	return b.String()
}

// keyFor returns a key that flattens to a name of nameLength characters.
func keyFor(nameLength int) string {
	return strings.Repeat("k", nameLength-len(SpecPrefix))
}

// keyOfNameLength returns a spec with one parameter whose name has
// nameLength characters.
func keyOfNameLength(nameLength int) string {
	return `{"` + keyFor(nameLength) + `": 1}`
}

// arrayOfLongNames returns a spec within MaxSpecBytes, MaxParameters and
// MaxNameLength that flattens into more than MaxTotalBytes: every element
// repeats the long key in its name.
func arrayOfLongNames() string {
	const count, valueLength = 370, 680
	key := strings.Repeat("k", MaxNameLength-len(SpecPrefix)-len(strconv.Itoa(count)))
	value := `"` + strings.Repeat("v", valueLength) + `"`
	spec := `{"` + key + `": [` + strings.Repeat(value+",", count-1) + value + "]}"
	if len(spec) > MaxSpecBytes || count*(len(SpecPrefix)+len(key)+valueLength) <= MaxTotalBytes {
		panic("arrayOfLongNames no longer tests MaxTotalBytes alone; adjust it to the limits")
	}
	return spec
}
