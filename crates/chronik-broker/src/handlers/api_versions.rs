//! ApiVersions: advertises exactly [`super::IMPLEMENTED`], with the version ranges the
//! protocol layer decodes.

use chronik_kafka::kafka_protocol::messages::ApiVersionsResponse;

pub(crate) fn handle() -> ApiVersionsResponse {
    chronik_kafka::api_versions_response(super::IMPLEMENTED)
}
