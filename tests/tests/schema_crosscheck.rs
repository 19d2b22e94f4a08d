//! Generation lost nothing: every property of every spec schema is present in
//! the JSON Schema derived from the generated types, with a compatible type.

use schemars::schema::{InstanceType, RootSchema, Schema, SchemaObject, SingleOrVec};
use serde_json::Value;
use yc_idp::types::{GetSessionResponse, Status};
use yc_idp_tests::workspace_root;

fn spec() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("openapi/idp.yaml")).unwrap();
    yaml_serde::from_str(&text).unwrap()
}

/// The schema object behind `schema`, following `$ref`s and Option's anyOf.
fn resolve<'a>(root: &'a RootSchema, schema: &'a Schema) -> &'a SchemaObject {
    let Schema::Object(obj) = schema else {
        panic!("boolean schema")
    };
    if let Some(r) = &obj.reference {
        let name = r.trim_start_matches("#/definitions/");
        return resolve(root, &root.definitions[name]);
    }
    if let Some(sub) = &obj.subschemas {
        for list in [&sub.any_of, &sub.all_of, &sub.one_of]
            .into_iter()
            .flatten()
        {
            if let Some(non_null) = list.iter().find(|s| !is_null(s)) {
                return resolve(root, non_null);
            }
        }
    }
    obj
}

fn is_null(s: &Schema) -> bool {
    matches!(s, Schema::Object(o) if o.instance_type == Some(SingleOrVec::Single(Box::new(InstanceType::Null))))
}

fn types(obj: &SchemaObject) -> Vec<InstanceType> {
    match &obj.instance_type {
        Some(SingleOrVec::Single(t)) => vec![**t],
        Some(SingleOrVec::Vec(v)) => v.clone(),
        None => vec![],
    }
}

fn check(
    spec: &Value,
    name: &str,
    root: &RootSchema,
    derived: &SchemaObject,
    checked: &mut Vec<String>,
) {
    let spec_schema = &spec["components"]["schemas"][name];
    let props = spec_schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let derived_props = &derived
        .object
        .as_ref()
        .unwrap_or_else(|| panic!("{name} is not an object"))
        .properties;
    for (prop, spec_prop) in props {
        let d = derived_props
            .get(&prop)
            .unwrap_or_else(|| panic!("{name}.{prop} is missing from the generated type"));
        let d = resolve(root, d);
        checked.push(format!("{name}.{prop}"));
        if let Some(target) = spec_prop["$ref"].as_str() {
            let target = target.trim_start_matches("#/components/schemas/");
            let target_schema = &spec["components"]["schemas"][target];
            if target_schema.get("enum").is_some() {
                assert_eq!(
                    types(d),
                    vec![InstanceType::String],
                    "{name}.{prop} is an enum"
                );
            } else {
                check(spec, target, root, d, checked);
            }
            continue;
        }
        let Some(ty) = spec_prop["type"].as_str() else {
            panic!("{name}.{prop} has neither `$ref` nor `type`: extend this check for it");
        };
        let expected = match ty {
            "string" => InstanceType::String,
            "integer" => InstanceType::Integer,
            "number" => InstanceType::Number,
            "boolean" => InstanceType::Boolean,
            "array" => InstanceType::Array,
            "object" => InstanceType::Object,
            other => panic!("{name}.{prop} has type `{other}`, which OpenAPI 3.0 lacks"),
        };
        assert!(
            types(d).contains(&expected),
            "{name}.{prop}: {:?} vs {expected:?}",
            types(d)
        );
        if let Some(format) = spec_prop["format"].as_str() {
            assert_eq!(d.format.as_deref(), Some(format), "{name}.{prop} format");
        }
        if expected == InstanceType::Array {
            let items = d.array.as_ref().and_then(|a| a.items.as_ref()).unwrap();
            let SingleOrVec::Single(item) = items else {
                panic!("tuple")
            };
            let item = resolve(root, item);
            if let Some(target) = spec_prop["items"]["$ref"].as_str() {
                check(
                    spec,
                    target.trim_start_matches("#/components/schemas/"),
                    root,
                    item,
                    checked,
                );
            }
        }
    }
}

#[test]
fn every_spec_property_survives_generation() {
    let spec = spec();
    let mut checked = Vec::new();
    let root = schemars::schema_for!(GetSessionResponse);
    check(
        &spec,
        "GetSessionResponse",
        &root,
        &root.schema,
        &mut checked,
    );
    let root = schemars::schema_for!(Status);
    check(&spec, "Status", &root, &root.schema, &mut checked);
    for must in [
        "SynchronizationSession.progressEntries",
        "ProgressEntry.changeInfo",
        "ChangeInfo.successful",
        "Status.details",
        "StatusDetail.@type",
    ] {
        assert!(
            checked.iter().any(|c| c == must),
            "{must} was not checked: {checked:?}"
        );
    }
    let total_props: usize = spec["components"]["schemas"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|s| s["properties"].as_object())
        .map(|p| p.len())
        .sum();
    checked.sort();
    checked.dedup();
    assert_eq!(
        checked.len(),
        total_props,
        "every property is checked once: {checked:?}"
    );
}
