//! Organization imports over plain HTTP: the CSV template, the multipart upload (for people
//! and scripts), and each import's log as CSV.
use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{self, Actor};
use crate::domain::imports::{self, RowOutcome, Summary};
use crate::domain::parse_id;
use crate::error::AppError;

async fn caller(app: &AppState, headers: &HeaderMap) -> Result<Actor, AppError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    auth::authenticate(&app.store, &app.auth, authorization).await
}

fn csv_response(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

pub async fn template() -> Response {
    csv_response("organizations-import-template.csv", imports::template_csv())
}

pub fn summary_json(s: &Summary) -> serde_json::Value {
    json!({
        "totalRecords": s.total_records, "newOrganizations": s.new_organizations, "existingOrganizations": s.existing_organizations,
        "invalidRecords": s.invalid_records, "successfulCreations": s.successful_creations, "skippedCreations": s.skipped_creations,
        "failedCreations": s.failed_creations,
    })
}

fn record_json(o: &RowOutcome) -> serde_json::Value {
    json!({
        "rowNumber": o.row.row_number, "organizationName": o.row.organization_name, "category": o.category.as_str(),
        "status": o.status, "createdOrganizationId": o.created_org_id, "validationErrors": o.errors,
    })
}

/// `POST /api/organizations/import`: multipart `file`, `defaultManagingOrgId`, optional `preview=true`.
pub async fn upload(
    State(app): State<AppState>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let actor = match caller(&app, &headers).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let (mut file, mut managing, mut preview) = (None, None, false);
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                let Ok(bytes) = field.bytes().await else {
                    return AppError::invalid(
                        name,
                        "INVALID_FORMAT",
                        "the form field could not be read",
                    )
                    .into_response();
                };
                match name.as_str() {
                    "file" => file = Some(bytes),
                    "defaultManagingOrgId" => {
                        managing = Some(String::from_utf8_lossy(&bytes).trim().to_owned())
                    }
                    "preview" => {
                        preview = matches!(
                            String::from_utf8_lossy(&bytes)
                                .trim()
                                .to_ascii_lowercase()
                                .as_str(),
                            "true" | "1" | "yes"
                        )
                    }
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(e) => {
                return AppError::invalid(
                    "file",
                    "INVALID_FORMAT",
                    format!("not a multipart form: {e}"),
                )
                .into_response();
            }
        }
    }
    let Some(file) = file else {
        return AppError::invalid(
            "file",
            "REQUIRED_FIELD",
            "attach the CSV file as the `file` field",
        )
        .into_response();
    };
    let managing = match managing
        .as_deref()
        .map(|m| parse_id("defaultManagingOrgId", m))
    {
        Some(Ok(id)) => id,
        Some(Err(e)) => return e.into_response(),
        None => actor.org_id,
    };
    let rows = match imports::parse_csv(&file, app.settings.import_max_rows) {
        Ok(r) => r,
        Err(e) => return AppError::invalid("file", "INVALID_FILE", e.0).into_response(),
    };
    let result = if preview {
        imports::validate(&app.store, &actor, managing, rows)
            .await
            .map(|o| (None, o))
    } else {
        imports::process(&app.store, &actor, managing, "CSV", rows)
            .await
            .map(|(i, o)| (Some(i.id), o))
    };
    match result {
        Ok((id, outcomes)) => {
            let body = json!({
                "importId": id,
                "summary": summary_json(&imports::summarize(&outcomes)),
                "records": outcomes.iter().map(record_json).collect::<Vec<_>>(),
            });
            (
                if id.is_some() {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                Json(body),
            )
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /api/organization-imports/{id}/log.csv`.
pub async fn log(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let actor = match caller(&app, &headers).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let Ok(id) = Uuid::parse_str(id.trim_end_matches(".csv")) else {
        return AppError::invalid("id", "INVALID_FORMAT", "not a valid import id").into_response();
    };
    match imports::log_csv(&app.store, &actor, id).await {
        Ok(body) => csv_response(&format!("organization-import-{id}.csv"), body),
        Err(e) => e.into_response(),
    }
}
