package specschema

import (
	"encoding/json"
	"strings"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	openapierrors "k8s.io/kube-openapi/pkg/validation/errors"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
)

// The OpenAPI half of validation, as the API server does it for custom
// resources: the structural schema converted to a kube-openapi schema, the
// formats the API server does not support stripped, kube-openapi's
// validator, and its result turned into field errors. The API server's own
// wrapper of these steps (k8s.io/apiextensions-apiserver/pkg/apiserver/validation)
// links CEL into the controller for its update ratcheting, which a spec
// never needs; see dialect.go for why that matters. A differential test
// holds both to the same results.

// extIntOrString marks a schema whose value is an integer or a string.
const extIntOrString = "x-kubernetes-int-or-string"

// supportedFormats are the string formats the API server validates in
// custom resources, by their name without dashes (how kube-openapi
// normalises format names). Any other format is ignored, as by the API
// server, so that a schema behaves here as it does in a CRD.
var supportedFormats = map[string]bool{
	"bsonobjectid": true, "uri": true, "email": true, "hostname": true,
	"ipv4": true, "ipv6": true, "cidr": true, "mac": true,
	"uuid": true, "uuid3": true, "uuid4": true, "uuid5": true,
	"isbn": true, "isbn10": true, "isbn13": true, "creditcard": true,
	"ssn": true, "hexcolor": true, "rgbcolor": true, "byte": true,
	"password": true, "date": true, "duration": true, "datetime": true,
	// Added in Kubernetes 1.34.
	"k8sshortname": true, "k8slongname": true,
}

// openAPISchema converts the structural schema s as the API server
// converts the schema of a CRD version for validation.
func openAPISchema(s *structuralschema.Structural) *spec.Schema {
	openapi := s.ToKubeOpenAPI()
	adaptForValidation(openapi)
	return openapi
}

// newValidator returns kube-openapi's validator for a converted schema. A
// validator keeps state while it validates, so each validation gets its
// own, as in the API server; the schema is shared and only read.
func newValidator(s *spec.Schema) *validate.SchemaValidator {
	return validate.NewSchemaValidator(s, nil, "", strfmt.Default)
}

// adaptForValidation walks a converted schema and does what the API
// server's conversion does beyond the structural one: int-or-string
// values get the types integer and string, and unsupported formats go.
func adaptForValidation(s *spec.Schema) {
	if s == nil {
		return
	}
	if v, ok := s.Extensions.GetBool(extIntOrString); ok && v {
		s.Type = spec.StringOrArray{"integer", "string"}
	}
	if s.Format != "" && !supportedFormats[strings.ReplaceAll(s.Format, "-", "")] {
		s.Format = ""
	}
	for name, prop := range s.Properties {
		adaptForValidation(&prop)
		s.Properties[name] = prop
	}
	if s.Items != nil {
		adaptForValidation(s.Items.Schema)
		for i := range s.Items.Schemas {
			adaptForValidation(&s.Items.Schemas[i])
		}
	}
	if s.AdditionalProperties != nil {
		adaptForValidation(s.AdditionalProperties.Schema)
	}
	for _, group := range [][]spec.Schema{s.AllOf, s.AnyOf, s.OneOf} {
		for i := range group {
			adaptForValidation(&group[i])
		}
	}
	adaptForValidation(s.Not)
}

// resultErrors turns kube-openapi's result into field errors the way the
// API server reports them for a custom resource: the field type follows
// the failed check, and paths are relative to the validated object.
func resultErrors(result *validate.Result) field.ErrorList {
	if result.IsValid() {
		return nil
	}
	var errs field.ErrorList
	for _, err := range result.Errors {
		verr, ok := err.(*openapierrors.Validation)
		if !ok {
			errs = append(errs, field.Invalid(nil, "", err.Error()))
			continue
		}
		errs = append(errs, validationError(verr))
	}
	return errs
}

// validationError is the field error for one failed check.
func validationError(err *openapierrors.Validation) *field.Error {
	var p *field.Path
	if err.Name != "" && err.Name != "." {
		p = p.Child(strings.TrimPrefix(err.Name, "."))
	}
	value := err.Value
	if value == nil {
		value = ""
	}
	switch err.Code() {
	case openapierrors.RequiredFailCode:
		return field.Required(p, "")
	case openapierrors.EnumFailCode:
		return field.NotSupported(p, err.Value, enumValues(err.Values))
	case openapierrors.TooLongFailCode:
		return field.TooLong(p, "", int(int64Or(err.Valid, -1)))
	case openapierrors.MaxItemsFailCode, openapierrors.TooManyPropertiesCode:
		return field.TooMany(p, int(int64Or(err.Value, -1)), int(int64Or(err.Valid, -1)))
	case openapierrors.InvalidTypeCode:
		return field.TypeInvalid(p, value, err.Error())
	default:
		return field.Invalid(p, value, err.Error())
	}
}

// enumValues prints the allowed values of an enum: strings as they are,
// anything else as JSON.
func enumValues(values []any) []string {
	out := make([]string, 0, len(values))
	for _, v := range values {
		if s, ok := v.(string); ok {
			out = append(out, s)
			continue
		}
		raw, _ := json.Marshal(v)
		out = append(out, string(raw))
	}
	return out
}

// int64Or returns v if it is an int64, else def.
func int64Or(v any, def int64) int64 {
	if i, ok := v.(int64); ok {
		return i
	}
	return def
}
