package parameters

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// argoParameterName is what Argo accepts as a parameter name.
var argoParameterName = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)

// fuzzSeeds are valid and invalid specs that exercise every rule of Flatten.
var fuzzSeeds = []string{
	"",
	"null",
	"{}",
	designSpec,
	`{"foo": {"bar": 1}}`,
	`{"items": [{"name": "x"}, {"name": "y", "size": 2}]}`,
	`{"m": [[1, 2], [3]]}`,
	`{"n": [1000000, 0.1, 1e6, -0, 1E+2, true, false, null, "", {}, []]}`,
	`{"s": "line\nbreak \u00e9 \"q\" \\ \ud83d\ude00 \ud800"}`,
	`{"a": {"b": 1}, "aB": 2}`,
	`{"tags": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "tags1": ["x"]}`,
	`{"foo": 1, "Foo": 2}`,
	`{"a": 1, "a": 2}`,
	`{"a": {"x": 1}, "a": {"y": 1}}`,
	`{"a b": 1}`,
	`{"": 1}`,
	`{"é": 1}`,
	`["a"]`,
	`"a"`,
	`{"a": 1} x`,
	`{"a": 1}{}`,
	`{"a": [1,]}`,
	`{"a": 1`,
	"{\"a\": \"\xff\xfe\"}",
	nestedArrays(MaxDepth),
	nestedArrays(MaxDepth + 1),
}

// FuzzFlatten checks that any input either fails with an *Error or yields a
// sorted, duplicate-free list of valid spec parameter names, the same on
// every call, and the same name/value set as the simple reference below.
func FuzzFlatten(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, spec []byte) {
		checkFlattenProperties(t, spec)
	})
}

// TestFlattenPropertiesOnSeeds runs the fuzz properties in every plain
// `go test`, on the seeds and on generated specs the fuzzer is unlikely to
// reach, such as the large benchmark spec.
func TestFlattenPropertiesOnSeeds(t *testing.T) {
	specs := append([]string{largeSpec(largeSpecKeys), objectWithKeys(MaxParameters)}, fuzzSeeds...)
	for i, s := range specs {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			checkFlattenProperties(t, []byte(s))
		})
	}
}

// TestReferenceFlattenAgreesOnTheDesignExample makes sure the reference used
// to check Flatten is itself right, on an example worked out by hand.
func TestReferenceFlattenAgreesOnTheDesignExample(t *testing.T) {
	got, err := referenceFlatten([]byte(`{"image": "alpine", "tags": ["latest", 1e6], "m": [[null, true]], "o": {"k": {}}}`))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"specImage": "alpine",
		"specTags0": "latest",
		"specTags1": "1e6",
		"specM00":   "",
		"specM01":   "true",
	}, got)
}

func checkFlattenProperties(t *testing.T, spec []byte) {
	t.Helper()
	input := bytes.Clone(spec)
	got, err := Flatten(spec)
	again, errAgain := Flatten(spec)
	require.Equal(t, input, spec, "Flatten must not modify its input")
	require.Equal(t, got, again, "Flatten must be deterministic")
	require.Equal(t, fmt.Sprint(err), fmt.Sprint(errAgain), "Flatten must fail the same way every time")

	if err != nil {
		var perr *Error
		require.True(t, errors.As(err, &perr), "errors must be *Error, got %T: %v", err, err)
		require.True(t, strings.HasPrefix(perr.Path, rootPath), "path %q must start at the spec", perr.Path)
		require.NotEmpty(t, perr.Reason)
		require.Nil(t, got)
		if strings.HasPrefix(perr.Reason, "is not valid JSON") || strings.HasPrefix(perr.Reason, "holds more data after") {
			require.False(t, json.Valid(spec), "Flatten calls valid JSON invalid: %v", err)
		}
		return
	}

	require.LessOrEqual(t, len(got), MaxParameters)
	for i, prm := range got {
		require.True(t, strings.HasPrefix(prm.Name, SpecPrefix), "name %q must start with %q", prm.Name, SpecPrefix)
		require.Regexp(t, argoParameterName, prm.Name)
		require.LessOrEqual(t, len(prm.Name), MaxNameLength)
		if i > 0 {
			require.Less(t, got[i-1].Name, prm.Name, "names must be sorted and unique")
		}
	}

	want, refErr := referenceFlatten(spec)
	require.NoError(t, refErr, "Flatten accepted a spec the reference rejects")
	require.Equal(t, want, asMap(got), "Flatten and the reference disagree")
}

// asMap turns a duplicate-free parameter list into name -> value.
func asMap(params []v1alpha1.Parameter) map[string]string {
	m := make(map[string]string, len(params))
	for _, prm := range params {
		m[prm.Name] = prm.Value
	}
	return m
}

// referenceFlatten is a deliberately plain second implementation of the
// flattening rules: decode into map[string]any and recurse. It knows neither
// the name rules nor the limits, so it is only compared with Flatten where
// Flatten succeeds.
func referenceFlatten(spec []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(spec))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if err == io.EOF {
			return map[string]string{}, nil
		}
		return nil, err
	}
	var rest any
	if err := dec.Decode(&rest); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON value: %v", err)
	}
	out := map[string]string{}
	switch v := v.(type) {
	case nil:
	case map[string]any:
		referenceWalk(out, "spec", v)
	default:
		return nil, fmt.Errorf("not an object: %T", v)
	}
	return out, nil
}

func referenceWalk(out map[string]string, name string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "" {
				out[name+"<empty key>"] = "" // Flatten rejects these; make sure we notice if it does not
				continue
			}
			referenceWalk(out, name+strings.ToUpper(k[:1])+k[1:], x)
		}
	case []any:
		for i, x := range v {
			referenceWalk(out, name+strconv.Itoa(i), x)
		}
	case string:
		out[name] = v
	case json.Number:
		out[name] = v.String()
	case bool:
		out[name] = strconv.FormatBool(v)
	case nil:
		out[name] = ""
	default:
		panic(fmt.Sprintf("unexpected JSON value %T", v))
	}
}
