package parameters

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/artifact-conduit/arc/pkg/apis/arc/v1alpha1"
)

// Limits on a spec and on what it flattens into. They keep one artifact from
// producing a Workflow that Argo, the API server or etcd would refuse, and
// bound the work the controller does for every artifact on every sync.
const (
	// MaxSpecBytes bounds the size of a spec as JSON text (256 KiB). A whole
	// Order, with up to v1alpha1.MaxArtifactsPerOrder specs, must fit etcd's
	// 1.5 MiB object limit anyway; a single spec beyond this is a mistake.
	MaxSpecBytes = 256 << 10

	// MaxDepth bounds how deeply objects and arrays nest. The spec object
	// itself is level 1, so {"a":{"b":[1]}} has depth 3.
	MaxDepth = 16

	// MaxParameters bounds the parameters one spec flattens into. Together with
	// the EndpointParameterCount endpoint parameters, the two Secret name
	// parameters of the Workflow and the up to v1alpha1.MaxTypeParameters
	// parameters an ArtifactType adds, a Workflow then never exceeds
	// v1alpha1.MaxWorkflowParameters.
	MaxParameters = v1alpha1.MaxWorkflowParameters - EndpointParameterCount - secretNameParameterCount - v1alpha1.MaxTypeParameters

	// MaxNameLength bounds a flattened parameter name, as the Parameter schema
	// does.
	MaxNameLength = v1alpha1.MaxParameterNameLength

	// MaxTotalBytes bounds the sum of the lengths of all flattened names and
	// values (256 KiB). Names can be longer than the JSON that makes them
	// (every element of [[1,1,...]] under a long key repeats the key), so
	// MaxSpecBytes alone does not bound the size of the ArtifactWorkflow and
	// the Workflow that carry the parameters. It is the ceiling of the
	// controller's --max-parameter-bytes, whose default is far lower.
	MaxTotalBytes = 256 << 10
)

// secretNameParameterCount is how many parameters the workflow builder adds
// to name the Secrets (srcSecretName, dstSecretName).
const secretNameParameterCount = 2

// rootPath is the path of the spec object in error messages.
const rootPath = "spec"

// Flatten turns a JSON object into spec-prefixed parameters, sorted by name
// (exported for tests/benchmarks and reuse).
//
// Every path to a value becomes one parameter. Its name is SpecPrefix followed
// by each object key with its first letter upper-cased and each array index
// in decimal: {"foo":{"bar":1}} gives specFooBar, {"tags":["a","b"]} gives
// specTags0 and specTags1, {"items":[{"name":"x"}]} gives specItems0Name.
// Strings are taken as they are, numbers exactly as written in the JSON
// (1e6 stays "1e6"), booleans as "true" or "false" and null as "". Empty
// objects and arrays give no parameter.
//
// spec may be nil, empty or JSON null, which give no parameters (nil). Any
// other spec must be a single JSON object whose keys are non-empty and hold
// only letters, digits, '-' and '_' (what Argo accepts in a parameter name),
// where no key appears twice in one object, no two paths flatten to the same
// name (as {"a":{"b":1},"aB":2} or keys "foo" and "Foo" would), and which
// stays within MaxSpecBytes, MaxDepth, MaxParameters, MaxNameLength and
// MaxTotalBytes. Every path counts for the name rules, even one that holds an
// empty object or array. A spec that breaks a rule yields an *Error naming
// the offending path.
func Flatten(spec []byte) ([]v1alpha1.Parameter, error) {
	var f flattener
	if err := f.run(spec); err != nil {
		return nil, err
	}
	if f.leaves == 0 {
		return nil, nil
	}
	return f.appendLeaves(make([]v1alpha1.Parameter, 0, f.leaves)), nil
}

// node is one path in the spec: an object member or an array element. Nodes
// form a tree through parent, from which error messages rebuild paths; the
// root, the spec object itself, is node 0.
type node struct {
	parent int32  // index of the enclosing node; -1 for the root
	index  int32  // position in the enclosing array; -1 for an object member
	key    string // key in the enclosing object, for an object member
}

// entry is the flattened name of one node, a leaf or a container. Containers
// get entries too, though no parameters, so that two paths with the same name
// are found even where one of them holds an empty object or array, and so
// that a key repeated in one object is found whatever it holds.
type entry struct {
	name  string
	value string
	node  int32
	leaf  bool
}

// flattener walks the tokens of one spec once, in document order, building
// names in a reused buffer. It checks names for collisions only after the
// walk, by sorting: the result has to be sorted anyway, and equal names then
// sit side by side, which spares a map.
type flattener struct {
	dec     *json.Decoder
	name    []byte // name of the node being walked
	nodes   []node
	entries []entry
	leaves  int // entries that are leaves, i.e. parameters
	size    int // total length of leaf names and values
}

// run flattens spec into f.entries, sorted by name, or returns an *Error.
func (f *flattener) run(spec []byte) error {
	if len(spec) > MaxSpecBytes {
		return &Error{Path: rootPath, Reason: fmt.Sprintf("is %d bytes of JSON, more than the %d allowed", len(spec), MaxSpecBytes)}
	}
	f.dec = json.NewDecoder(bytes.NewReader(spec))
	// Numbers reach the workflow exactly as written: no float64 round trip
	// that would turn 1000000 into 1e+06 or lose digits.
	f.dec.UseNumber()

	tok, err := f.dec.Token()
	switch {
	case err == io.EOF:
		return nil // an empty spec, or only white space
	case err != nil:
		return f.syntaxError(-1, err)
	case tok == nil:
		// JSON null: no spec at all.
	case tok == json.Delim('{'):
		// Guess the sizes from the spec, so that a typical one needs no
		// regrowth: roughly one node per 16 bytes of JSON, but not more than
		// a valid spec can have leaves, lest a spec of one long string
		// allocate for thousands.
		guess := min(len(spec)/16, MaxParameters) + 1
		f.nodes = make([]node, 1, guess+1)
		f.nodes[0] = node{parent: -1, index: -1}
		f.entries = make([]entry, 0, guess)
		f.name = make([]byte, 0, 64)
		f.name = append(f.name, SpecPrefix...)
		if err := f.object(0, 1); err != nil {
			return err
		}
	default:
		return &Error{Path: rootPath, Reason: "must be a JSON object, not " + describe(tok)}
	}
	if err := f.expectEnd(); err != nil {
		return err
	}
	return f.sortAndCheckNames()
}

// expectEnd makes sure nothing but white space follows the spec object:
// json.Decoder reads streams of values and would otherwise ignore the rest.
func (f *flattener) expectEnd() error {
	offset := f.dec.InputOffset()
	_, err := f.dec.Token()
	if err == io.EOF {
		return nil
	}
	return &Error{Path: rootPath, Reason: fmt.Sprintf("holds more data after the end of the JSON object (at byte %d)", offset)}
}

// object walks the members of the object of node id, whose '{' was read and
// which sits at nesting level depth.
func (f *flattener) object(id int32, depth int) error {
	for {
		tok, err := f.dec.Token()
		if err != nil {
			return f.syntaxError(id, err)
		}
		key, ok := tok.(string)
		if !ok {
			// Where a key is due the decoder returns a key, the closing '}'
			// or a syntax error, nothing else.
			if tok == json.Delim('}') {
				return nil
			}
			return f.unexpected(id, tok)
		}
		if reason := checkKey(key); reason != "" {
			return &Error{Path: f.path(id), Reason: reason}
		}
		mark := len(f.name)
		f.name = append(f.name, upperASCII(key[0]))
		f.name = append(f.name, key[1:]...)
		child := f.addNode(id, -1, key)
		if err := f.member(child, depth); err != nil {
			return err
		}
		f.name = f.name[:mark]
	}
}

// array walks the elements of the array of node id, whose '[' was read and
// which sits at nesting level depth.
func (f *flattener) array(id int32, depth int) error {
	for i := int32(0); ; i++ {
		tok, err := f.dec.Token()
		if err != nil {
			return f.syntaxError(id, err)
		}
		if tok == json.Delim(']') {
			return nil
		}
		mark := len(f.name)
		f.name = strconv.AppendInt(f.name, int64(i), 10)
		child := f.addNode(id, i, "")
		if err := f.value(child, depth, tok); err != nil {
			return err
		}
		f.name = f.name[:mark]
	}
}

// member reads and walks the value of object member id.
func (f *flattener) member(id int32, depth int) error {
	tok, err := f.dec.Token()
	if err != nil {
		return f.syntaxError(id, err)
	}
	return f.value(id, depth, tok)
}

// value walks the value of node id, of which tok is the first token, inside
// a container at nesting level depth. f.name holds the node's name.
func (f *flattener) value(id int32, depth int, tok json.Token) error {
	if len(f.name) > MaxNameLength {
		return &Error{Path: f.path(id), Reason: fmt.Sprintf("flattens to a parameter name of %d characters, more than the %d allowed", len(f.name), MaxNameLength)}
	}
	switch v := tok.(type) {
	case json.Delim:
		if depth >= MaxDepth {
			return &Error{Path: f.path(id), Reason: fmt.Sprintf("nests objects and arrays more than %d levels deep", MaxDepth)}
		}
		f.addEntry(id, false, "")
		switch v {
		case '{':
			return f.object(id, depth+1)
		case '[':
			return f.array(id, depth+1)
		}
	case string:
		return f.addLeaf(id, v)
	case json.Number:
		return f.addLeaf(id, string(v))
	case bool:
		return f.addLeaf(id, strconv.FormatBool(v))
	case nil:
		return f.addLeaf(id, "")
	}
	return f.unexpected(id, tok)
}

// unexpected reports a token json.Decoder should never return where it did:
// it reports misplaced closing delimiters as syntax errors itself. This
// guards against a change in the decoder, not against bad input.
func (f *flattener) unexpected(id int32, tok json.Token) error {
	return &Error{Path: f.path(id), Reason: fmt.Sprintf("is not valid JSON: unexpected %v", tok)}
}

// addNode records a node and returns its id.
func (f *flattener) addNode(parent, index int32, key string) int32 {
	f.nodes = append(f.nodes, node{parent: parent, index: index, key: key})
	return int32(len(f.nodes) - 1)
}

// addEntry records the current name for node id.
func (f *flattener) addEntry(id int32, leaf bool, value string) string {
	name := string(f.name)
	f.entries = append(f.entries, entry{name: name, value: value, node: id, leaf: leaf})
	return name
}

// addLeaf records the current name as a parameter with value, within limits.
func (f *flattener) addLeaf(id int32, value string) error {
	f.leaves++
	if f.leaves > MaxParameters {
		return &Error{Path: rootPath, Reason: fmt.Sprintf("flattens into more than %d parameters", MaxParameters)}
	}
	name := f.addEntry(id, true, value)
	f.size += len(name) + len(value)
	if f.size > MaxTotalBytes {
		return &Error{Path: rootPath, Reason: fmt.Sprintf("flattens into parameter names and values of more than %d bytes in total", MaxTotalBytes)}
	}
	return nil
}

// sortAndCheckNames sorts the entries by name and fails if two share one.
// Ties are broken by node so that the error, like the result, depends on the
// spec alone.
func (f *flattener) sortAndCheckNames() error {
	slices.SortFunc(f.entries, func(a, b entry) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return cmp.Compare(a.node, b.node)
	})
	for i := 1; i < len(f.entries); i++ {
		if f.entries[i].name == f.entries[i-1].name {
			return f.nameClash(f.entries[i-1].node, f.entries[i].node, f.entries[i].name)
		}
	}
	return nil
}

// nameClash explains why nodes first and second, in document order, share
// name: a key written twice in one object, or two paths spelled alike.
func (f *flattener) nameClash(first, second int32, name string) error {
	a, b := f.nodes[first], f.nodes[second]
	if a.parent == b.parent && a.key == b.key {
		// Array elements never share a parent and a name, so this is a key.
		return &Error{Path: f.path(a.parent), Reason: fmt.Sprintf("key %s appears twice in the same object", quoteKey(a.key))}
	}
	return &Error{Path: f.path(second), Reason: fmt.Sprintf("flattens to the parameter name %q, as %s does; rename one of them", shorten(name), f.path(first))}
}

// appendLeaves appends the parameters, in name order, to out.
func (f *flattener) appendLeaves(out []v1alpha1.Parameter) []v1alpha1.Parameter {
	for _, e := range f.entries {
		if e.leaf {
			out = append(out, v1alpha1.Parameter{Name: e.name, Value: e.value})
		}
	}
	return out
}

// path renders the JSON path of node id, e.g. "spec.items[2].name". Only
// error messages need it, so it is built on demand from the node tree.
func (f *flattener) path(id int32) string {
	var chain []int32
	for ; id > 0; id = f.nodes[id].parent {
		chain = append(chain, id)
	}
	var b strings.Builder
	b.WriteString(rootPath)
	for _, n := range slices.Backward(chain) {
		nd := f.nodes[n]
		if nd.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(int(nd.index)))
			b.WriteByte(']')
			continue
		}
		// Keys on a path passed checkKey, so they need no quoting.
		b.WriteByte('.')
		b.WriteString(shorten(nd.key))
	}
	return b.String()
}

// syntaxError turns an error of the JSON decoder inside node id (-1 before
// the spec object) into an *Error.
func (f *flattener) syntaxError(id int32, err error) error {
	path := rootPath
	if id >= 0 {
		path = f.path(id)
	}
	var syntax *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Path: path, Reason: "is not valid JSON: it ends before the JSON object is complete"}
	case errors.As(err, &syntax):
		return &Error{Path: path, Reason: fmt.Sprintf("is not valid JSON: %s (at byte %d)", syntax.Error(), syntax.Offset)}
	}
	return &Error{Path: path, Reason: "is not valid JSON: " + err.Error()}
}

// checkKey returns why key cannot become part of a parameter name, or "".
func checkKey(key string) string {
	if key == "" {
		return `holds an empty key, which cannot become part of a parameter name`
	}
	for i := 0; i < len(key); i++ {
		if !isNameByte(key[i]) {
			return fmt.Sprintf("key %s holds characters a workflow parameter name cannot hold (letters, digits, '-' and '_' only)", quoteKey(key))
		}
	}
	return ""
}

// isNameByte tells whether Argo accepts c in a parameter name, which must
// match ^[-a-zA-Z0-9_]+$.
func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// upperASCII upper-cases an ASCII letter and leaves any other byte alone.
// Keys hold ASCII only, so this is all camelCase needs.
func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// describe names the kind of JSON value tok starts, for error messages.
func describe(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "an array" // '{' is the accepted case, and no value starts with a closing delimiter
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", tok)
}
