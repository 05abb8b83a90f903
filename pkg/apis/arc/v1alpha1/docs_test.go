package v1alpha1_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// leftoverMarkers are words that must not reach users through kubectl explain
// or the API reference.
var leftoverMarkers = regexp.MustCompile(`\b(TODO|FIXME|XXX|TBD)\b`)

// leakedMarkers catches code-generation markers that ended up in a
// description, which happens when a marker is written inside the doc text.
var leakedMarkers = regexp.MustCompile(`(^|\n)\s*\+(kubebuilder|optional|required|listType|listMapKey|genclient|k8s:|groupName)`)

// allDescriptions returns every description of a schema with its path.
func allDescriptions(path string, s *jsonSchema, out map[string]string) {
	if s == nil {
		return
	}
	if s.Description != "" {
		out[path] = s.Description
	}
	for name, p := range s.Properties {
		allDescriptions(child(path, name), p, out)
	}
	allDescriptions(path+"[]", s.Items, out)
	if s.AdditionalProperties != nil {
		allDescriptions(path+"{}", s.AdditionalProperties.Schema, out)
	}
	for i, j := range junctors(s) {
		allDescriptions(fmt.Sprintf("%s<junctor %d>", path, i), j, out)
	}
}

func TestSchemaDescriptionsHaveNoLeftovers(t *testing.T) {
	crds := loadCRDs(t)
	kinds := make([]string, 0, len(crds))
	for kind := range crds {
		kinds = append(kinds, kind)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		c := crds[kind]
		t.Run(kind, func(t *testing.T) {
			descriptions := map[string]string{}
			allDescriptions("", c.schema(), descriptions)
			require.NotEmpty(t, descriptions)
			var todo, leaked []string
			for path, d := range descriptions {
				if path == "" {
					path = "<root>"
				}
				if m := leftoverMarkers.FindString(d); m != "" {
					todo = append(todo, fmt.Sprintf("%s: %q in %q", path, m, d))
				}
				if leakedMarkers.MatchString(d) {
					leaked = append(leaked, fmt.Sprintf("%s: %q", path, d))
				}
			}
			sort.Strings(todo)
			sort.Strings(leaked)
			assert.Emptyf(t, todo, "%s: descriptions with leftovers:\n  %s", c.file, strings.Join(todo, "\n  "))
			assert.Emptyf(t, leaked, "%s: descriptions with code-generation markers:\n  %s", c.file, strings.Join(leaked, "\n  "))
		})
	}
}

// ---------------------------------------------------------------------------
// Go doc comments of the package's hand-written files.
// ---------------------------------------------------------------------------

type packageFiles struct {
	fset  *token.FileSet
	files map[string]*ast.File // by base name
}

// parseHandWritten parses the package's .go files, leaving out tests and
// generated code (files with the "Code generated ... DO NOT EDIT." line).
func parseHandWritten(t *testing.T) packageFiles {
	t.Helper()
	names, err := filepath.Glob("*.go")
	require.NoError(t, err)
	pf := packageFiles{fset: token.NewFileSet(), files: map[string]*ast.File{}}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		f, err := parser.ParseFile(pf.fset, name, src, parser.ParseComments)
		require.NoError(t, err)
		if ast.IsGenerated(f) {
			continue
		}
		pf.files[name] = f
	}
	require.NotEmpty(t, pf.files, "no hand-written files found")
	require.Contains(t, pf.files, "order_types.go", "the test runs in the package directory")
	return pf
}

// docText is a doc comment without its code-generation markers (+optional,
// +kubebuilder:..., +listType=...): only the prose that documents.
func docText(groups ...*ast.CommentGroup) string {
	for _, g := range groups {
		if g == nil {
			continue
		}
		var lines []string
		for _, line := range strings.Split(g.Text(), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "+") {
				continue
			}
			lines = append(lines, line)
		}
		if text := strings.TrimSpace(strings.Join(lines, "\n")); text != "" {
			return text
		}
	}
	return ""
}

type docProblem struct{ pos, what string }

func (pf packageFiles) each(fn func(name string, f *ast.File)) {
	names := make([]string, 0, len(pf.files))
	for name := range pf.files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fn(name, pf.files[name])
	}
}

func reportDocProblems(t *testing.T, problems []docProblem, what string) {
	t.Helper()
	lines := make([]string, 0, len(problems))
	for _, p := range problems {
		lines = append(lines, p.pos+": "+p.what)
	}
	assert.Emptyf(t, lines, "%s:\n  %s", what, strings.Join(lines, "\n  "))
}

func TestExportedTypesAndFieldsAreDocumented(t *testing.T) {
	pf := parseHandWritten(t)

	t.Run("package", func(t *testing.T) {
		var docs []string
		pf.each(func(_ string, f *ast.File) {
			if d := docText(f.Doc); d != "" {
				docs = append(docs, d)
			}
		})
		require.Len(t, docs, 1, "exactly one file (doc.go) carries the package comment")
		assert.True(t, strings.HasPrefix(docs[0], "Package v1alpha1 "), "package comment should start with \"Package v1alpha1\": %q", docs[0])
	})

	t.Run("types", func(t *testing.T) {
		var problems []docProblem
		pf.each(func(_ string, f *ast.File) {
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.TYPE {
					continue
				}
				for _, spec := range gd.Specs {
					ts := spec.(*ast.TypeSpec)
					if !ts.Name.IsExported() {
						continue
					}
					pos := pf.fset.Position(ts.Pos()).String()
					doc := docText(ts.Doc)
					if doc == "" && len(gd.Specs) == 1 {
						doc = docText(gd.Doc)
					}
					switch {
					case doc == "":
						problems = append(problems, docProblem{pos, "type " + ts.Name.Name + " has no doc comment"})
					case !strings.HasPrefix(doc, ts.Name.Name+" "):
						problems = append(problems, docProblem{pos, fmt.Sprintf("doc comment of type %s should start with its name: %q", ts.Name.Name, firstLine(doc))})
					}
					if m := leftoverMarkers.FindString(doc); m != "" {
						problems = append(problems, docProblem{pos, fmt.Sprintf("doc comment of type %s contains %s", ts.Name.Name, m)})
					}
				}
			}
		})
		reportDocProblems(t, problems, "exported types without a proper doc comment")
	})

	t.Run("fields", func(t *testing.T) {
		var problems []docProblem
		pf.each(func(_ string, f *ast.File) {
			ast.Inspect(f, func(n ast.Node) bool {
				ts, ok := n.(*ast.TypeSpec)
				if !ok || !ts.Name.IsExported() {
					return true
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					return true
				}
				for _, field := range st.Fields.List {
					if len(field.Names) == 0 {
						// Embedded TypeMeta, ObjectMeta and ListMeta are
						// documented by apimachinery; their schema has no
						// description of ours either.
						continue
					}
					for _, name := range field.Names {
						if !name.IsExported() {
							continue
						}
						pos := pf.fset.Position(name.Pos()).String()
						doc := docText(field.Doc)
						if doc == "" {
							what := "has no doc comment"
							if field.Doc != nil {
								what = "has only markers, no doc text"
							}
							problems = append(problems, docProblem{pos, fmt.Sprintf("field %s.%s %s", ts.Name.Name, name.Name, what)})
						}
						if field.Comment != nil && doc == "" {
							problems = append(problems, docProblem{pos, fmt.Sprintf("field %s.%s is documented by a line comment, which controller-gen ignores", ts.Name.Name, name.Name)})
						}
						if m := leftoverMarkers.FindString(doc); m != "" {
							problems = append(problems, docProblem{pos, fmt.Sprintf("doc comment of field %s.%s contains %s", ts.Name.Name, name.Name, m)})
						}
					}
				}
				return true
			})
		})
		reportDocProblems(t, problems, "exported fields without a doc comment (it becomes the kubectl explain text)")
	})

	t.Run("constants, variables and functions", func(t *testing.T) {
		var problems []docProblem
		pf.each(func(_ string, f *ast.File) {
			for _, decl := range f.Decls {
				switch d := decl.(type) {
				case *ast.GenDecl:
					if d.Tok != token.CONST && d.Tok != token.VAR {
						continue
					}
					for _, spec := range d.Specs {
						vs := spec.(*ast.ValueSpec)
						for _, name := range vs.Names {
							if !name.IsExported() {
								continue
							}
							// A group comment documents the names in its group.
							if docText(vs.Doc, vs.Comment) == "" && docText(d.Doc) == "" {
								problems = append(problems, docProblem{pf.fset.Position(name.Pos()).String(), d.Tok.String() + " " + name.Name + " has no doc comment"})
							}
						}
					}
				case *ast.FuncDecl:
					if !d.Name.IsExported() {
						continue
					}
					name := d.Name.Name
					if d.Recv != nil {
						recv := receiverType(d.Recv.List[0].Type)
						if !ast.IsExported(recv) {
							continue
						}
						name = recv + "." + name
					}
					doc := docText(d.Doc)
					pos := pf.fset.Position(d.Pos()).String()
					switch {
					case doc == "":
						problems = append(problems, docProblem{pos, "func " + name + " has no doc comment"})
					case !strings.HasPrefix(doc, d.Name.Name+" "):
						problems = append(problems, docProblem{pos, fmt.Sprintf("doc comment of func %s should start with its name: %q", name, firstLine(doc))})
					}
				}
			}
		})
		reportDocProblems(t, problems, "exported identifiers without a proper doc comment")
	})
}

func receiverType(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return receiverType(e.X)
	case *ast.IndexExpr:
		return receiverType(e.X)
	case *ast.IndexListExpr:
		return receiverType(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// The doc checks must be able to fail: run them on a small broken file.
func TestDocCheckerCatches(t *testing.T) {
	src := `package x

// +kubebuilder:object:root=true

type Undocumented struct {
	// +optional
	OnlyMarker string
	NoComment  int
	// Documented is fine.
	Documented bool
	LineComment string // not a doc comment
}

// Wrong starts with another word.
type Other string
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, parser.ParseComments)
	require.NoError(t, err)
	var undocumented []string
	ast.Inspect(f, func(n ast.Node) bool {
		if st, ok := n.(*ast.StructType); ok {
			for _, field := range st.Fields.List {
				if docText(field.Doc) == "" {
					undocumented = append(undocumented, field.Names[0].Name)
				}
			}
		}
		return true
	})
	assert.Equal(t, []string{"OnlyMarker", "NoComment", "LineComment"}, undocumented)

	gd := f.Decls[0].(*ast.GenDecl)
	assert.Empty(t, docText(gd.Doc), "a marker group separated by a blank line is not the doc comment")
	other := f.Decls[1].(*ast.GenDecl)
	assert.False(t, strings.HasPrefix(docText(other.Doc), "Other "))

	assert.True(t, leftoverMarkers.MatchString("Name of the thing. TODO: explain"))
	assert.False(t, leftoverMarkers.MatchString("Todos are fine as a word: TODOS"))
	assert.True(t, leakedMarkers.MatchString("Items to move.\n+kubebuilder:validation:MaxItems=3"))
}
