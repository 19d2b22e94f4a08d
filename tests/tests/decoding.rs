//! The generated types read and write proto3 JSON as the API does.

use yc_idp::Int64;
use yc_idp::types::{
    ChangeType, GetSessionResponse, RelatedObjectType, SessionStatus, SessionType, Status, SyncMode,
};
use yc_idp_tests::examples;

#[test]
fn every_reference_body_round_trips() {
    let all = examples();
    assert!(all.len() >= 7, "reference examples are missing: {all:?}");
    for (name, text) in all {
        let original: serde_json::Value = serde_json::from_str(&text).unwrap();
        let again = if name.starts_with("error-") {
            let status: Status =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            serde_json::to_value(&status).unwrap()
        } else {
            let response: GetSessionResponse =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            serde_json::to_value(&response).unwrap()
        };
        // `details: []` is a default the printer may write; it means absent.
        let mut original = original;
        if original.get("details") == Some(&serde_json::json!([])) {
            original.as_object_mut().unwrap().remove("details");
        }
        assert_eq!(again, original, "{name} did not round-trip");
    }
}

#[test]
fn an_empty_session_decodes() {
    let r: GetSessionResponse = serde_json::from_str(r#"{"session": {}}"#).unwrap();
    assert_eq!(r.session, Some(Default::default()));
}

#[test]
fn unknown_enum_values_survive_a_round_trip() {
    let text = r#"{"session":{"status":"PAUSED_BY_ADMIN","sessionType":"SCIM_SYNC"}}"#;
    let r: GetSessionResponse = serde_json::from_str(text).unwrap();
    let s = r.session.as_ref().unwrap();
    assert_eq!(
        s.status,
        Some(SessionStatus::Unknown("PAUSED_BY_ADMIN".into()))
    );
    assert!(s.session_type.as_ref().unwrap().is_unknown());
    let back = serde_json::to_value(&r).unwrap();
    assert_eq!(
        back,
        serde_json::from_str::<serde_json::Value>(text).unwrap()
    );
}

#[test]
fn known_enum_values_round_trip_by_name() {
    for status in SessionStatus::KNOWN {
        let json = serde_json::to_string(status).unwrap();
        assert_eq!(json, format!("\"{status}\""));
        assert_eq!(
            &serde_json::from_str::<SessionStatus>(&json).unwrap(),
            status
        );
        assert_eq!(&status.as_str().parse::<SessionStatus>().unwrap(), status);
    }
    assert_eq!(
        "LDAP_SYNC".parse::<SessionType>().unwrap(),
        SessionType::LdapSync
    );
    assert_eq!(SyncMode::default(), SyncMode::SyncModeUnspecified);
    assert_eq!(ChangeType::KNOWN.len(), 7);
    assert_eq!(RelatedObjectType::KNOWN.len(), 4);
    assert_eq!(SessionType::KNOWN.len(), 5);
}

#[test]
fn int64_beyond_2_pow_53_is_exact_as_string_or_number() {
    for form in [r#""9007199254740993""#, "9007199254740993"] {
        let n: Int64 = serde_json::from_str(form).unwrap();
        assert_eq!(n.get(), 9_007_199_254_740_993, "{form}");
        assert_eq!(serde_json::to_string(&n).unwrap(), r#""9007199254740993""#);
    }
}
