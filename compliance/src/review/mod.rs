//! The monthly access review of 개인정보의 안전성 확보조치 기준 제8조②:
//! the month's access records checked against the thresholds of the
//! operator's 내부 관리계획 (`[compliance.review]`), each finding with its
//! 소명 state, the reviewer's sign-off, and the 제8조③ integrity result.
//!
//! - `month`: the calendar month in the review's time zone.
//! - `records`: access records from the `audit` stream and mapped streams.
//! - `checks`: the checks and their [`Finding`]s (stable ids).
//! - `store`: 소명 states with history and the sign-off, file-locked.
//! - `integrity`: chain verified and no gap in the month (제8조③).
//! - `report`: [`Review`], built from the above ([`build`]).

mod checks;
mod integrity;
mod month;
mod records;
mod report;
pub mod store;

pub use checks::{CheckKind, Finding, is_finding_id};
pub use integrity::{Integrity, IntegrityStatus, StreamIntegrity};
pub use month::{Month, Tz, zone};
pub use records::{AccessRecord, subjects_in_query};
pub use report::{Review, ReviewOptions, ReviewStatus, Setting, SourceSummary, Summary, build, findings, findings_digest};
pub use store::{MonthState, Refused, ReviewStore, SignOff, State, StateChange};
