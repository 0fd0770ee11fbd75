//! What a person uploads for a `document` case (SPEC 12): which files are taken (PDF, PNG or
//! JPEG by their content, never by their name; at most [`MAX_FILES`] of [`MAX_FILE_BYTES`]
//! each), the document types offered per group, and how the files are sealed at rest:
//! AES-256-GCM under a key derived from the master key, bound to the row they are stored in,
//! with a key ring so that the master key can be rotated without losing what was sealed.

use thiserror::Error;

use crate::keys::MasterKey;

/// Files per upload (SPEC 12: 1 to 5).
pub const MAX_FILES: usize = 5;
/// Bytes per file (SPEC 12: 10 MiB).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// A file type Verity takes, as its content shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    Pdf,
    Png,
    Jpeg,
}

impl ContentType {
    /// The media type it is served back with (to the reviewer only).
    pub fn mime(self) -> &'static str {
        match self {
            ContentType::Pdf => "application/pdf",
            ContentType::Png => "image/png",
            ContentType::Jpeg => "image/jpeg",
        }
    }

    /// The type of a stored media type.
    pub fn from_mime(mime: &str) -> Option<Self> {
        [ContentType::Pdf, ContentType::Png, ContentType::Jpeg]
            .into_iter()
            .find(|t| t.mime() == mime)
    }
}

/// The type `content` is, by its first bytes; `None` for anything else (whatever its name or
/// the browser's `Content-Type` say).
pub fn sniff(content: &[u8]) -> Option<ContentType> {
    if content.starts_with(b"%PDF-") {
        Some(ContentType::Pdf)
    } else if content.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ContentType::Png)
    } else if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ContentType::Jpeg)
    } else {
        None
    }
}

/// Why an upload is refused, in words for the person beside the file field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UploadError {
    #[error("Choose at least one file.")]
    NoFile,
    #[error("Upload at most 5 files.")]
    TooManyFiles,
    #[error("Each file must be 10 MB or smaller.")]
    TooLarge,
    #[error("Upload a PDF, PNG or JPEG file.")]
    NotAccepted,
    #[error("The file is empty.")]
    Empty,
}

/// Checks one file of an upload (its content); its type when it is taken.
pub fn check_file(content: &[u8]) -> Result<ContentType, UploadError> {
    if content.is_empty() {
        return Err(UploadError::Empty);
    }
    if content.len() > MAX_FILE_BYTES {
        return Err(UploadError::TooLarge);
    }
    sniff(content).ok_or(UploadError::NotAccepted)
}

/// Checks how many files an upload has.
pub fn check_count(files: usize) -> Result<(), UploadError> {
    match files {
        0 => Err(UploadError::NoFile),
        n if n > MAX_FILES => Err(UploadError::TooManyFiles),
        _ => Ok(()),
    }
}

/// The document types a person may choose for a group (`identity` included): the handle
/// stored with the case, and the label the page shows.
pub fn document_types(group: &str) -> &'static [(&'static str, &'static str)] {
    match group {
        "identity" => &[
            ("drivers_license", "Driver's license"),
            ("state_id", "State ID card"),
            ("passport", "Passport"),
        ],
        "military" => &[
            ("dd214", "DD-214 (discharge papers)"),
            ("military_id", "Military ID card"),
            ("va_card", "VA health ID card"),
        ],
        "student" => &[
            ("student_id", "Student ID card"),
            ("enrollment_letter", "Enrollment letter"),
            ("transcript", "Transcript or class schedule"),
        ],
        "teacher" | "nurse" | "responder" | "government" => &[
            ("employee_id", "Employee ID card"),
            ("license", "Professional license"),
            ("employment_letter", "Letter from your employer"),
        ],
        _ => &[("other", "An official document")],
    }
}

/// Why sealed evidence cannot be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SealError {
    #[error("no key of the ring has this id (the master key it was sealed under is gone)")]
    UnknownKey,
    #[error("the evidence does not open under its key (altered, or moved to another row)")]
    Tampered,
    #[error("sealing failed")]
    Seal,
}

/// Sealed content and the id of the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

/// The evidence keys: derived from the current master key (which seals) and from the previous
/// ones (which still open what they sealed until it is purged).
#[derive(Debug, Clone)]
pub struct EvidenceKeys {
    /// `(fingerprint, key)`, the current one first.
    ring: Vec<(String, MasterKey)>,
}

/// The label evidence keys are derived under.
const PURPOSE: &str = "verity evidence v1";

impl EvidenceKeys {
    pub fn new(current: &MasterKey, previous: &[MasterKey]) -> Self {
        let ring = std::iter::once(current)
            .chain(previous)
            .map(|master| {
                let key = master.derived(PURPOSE);
                (key.fingerprint(), key)
            })
            .collect();
        EvidenceKeys { ring }
    }

    /// Seals a file of case `case_id` stored as evidence `evidence_id` (both bound into the
    /// ciphertext: moved to another row, it no longer opens).
    pub fn seal(
        &self,
        content: &[u8],
        case_id: &str,
        evidence_id: &str,
    ) -> Result<Sealed, SealError> {
        let (key_id, key) = self.ring.first().ok_or(SealError::Seal)?;
        let bytes = key
            .encrypt(content, &aad(case_id, evidence_id))
            .map_err(|_| SealError::Seal)?;
        Ok(Sealed {
            key_id: key_id.clone(),
            bytes,
        })
    }

    /// Opens what [`EvidenceKeys::seal`] sealed for the same case and evidence id.
    pub fn open(
        &self,
        sealed: &Sealed,
        case_id: &str,
        evidence_id: &str,
    ) -> Result<Vec<u8>, SealError> {
        let (_, key) = self
            .ring
            .iter()
            .find(|(id, _)| *id == sealed.key_id)
            .ok_or(SealError::UnknownKey)?;
        key.decrypt(&sealed.bytes, &aad(case_id, evidence_id))
            .map_err(|_| SealError::Tampered)
    }
}

impl EvidenceKeys {
    /// The fingerprint new files are sealed under.
    pub fn current_id(&self) -> Option<&str> {
        self.ring.first().map(|(id, _)| id.as_str())
    }

    /// What a file sealed under a previous key becomes under the current one (`None`: sealed
    /// under the current one already).
    pub fn reseal(
        &self,
        sealed: &Sealed,
        case_id: &str,
        evidence_id: &str,
    ) -> Result<Option<Sealed>, SealError> {
        if Some(sealed.key_id.as_str()) == self.current_id() {
            return Ok(None);
        }
        let content = self.open(sealed, case_id, evidence_id)?;
        self.seal(&content, case_id, evidence_id).map(Some)
    }
}

fn aad(case_id: &str, evidence_id: &str) -> Vec<u8> {
    format!("verity evidence {case_id} {evidence_id}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn files_are_taken_by_their_content() {
        assert_eq!(check_file(b"%PDF-1.7\n..."), Ok(ContentType::Pdf));
        assert_eq!(check_file(PNG), Ok(ContentType::Png));
        assert_eq!(check_file(&[0xFF, 0xD8, 0xFF, 0xE0]), Ok(ContentType::Jpeg));
        // A script named photo.png, HTML, an SVG: refused whatever they are called.
        for other in [
            &b"<html><script>"[..],
            b"<svg xmlns=",
            b"GIF89a",
            b"PK\x03\x04",
        ] {
            assert_eq!(check_file(other), Err(UploadError::NotAccepted));
        }
        assert_eq!(check_file(b""), Err(UploadError::Empty));
        let mut big = b"%PDF-".to_vec();
        big.resize(MAX_FILE_BYTES + 1, b' ');
        assert_eq!(check_file(&big), Err(UploadError::TooLarge));
        big.truncate(MAX_FILE_BYTES);
        assert_eq!(check_file(&big), Ok(ContentType::Pdf));
        assert_eq!(check_count(0), Err(UploadError::NoFile));
        assert_eq!(check_count(5), Ok(()));
        assert_eq!(check_count(6), Err(UploadError::TooManyFiles));
        for t in [ContentType::Pdf, ContentType::Png, ContentType::Jpeg] {
            assert_eq!(ContentType::from_mime(t.mime()), Some(t));
        }
    }

    #[test]
    fn every_group_offers_document_types() {
        for group in [
            "identity",
            "military",
            "student",
            "teacher",
            "nurse",
            "responder",
            "government",
            "other",
        ] {
            assert!(!document_types(group).is_empty(), "{group}");
        }
    }

    /// Sealed bytes are not the file; they open for their own row only, under the ring's key
    /// that sealed them, also after the master key was rotated; a ring without that key says
    /// so.
    #[test]
    fn evidence_is_sealed_to_its_row_and_survives_rotation() {
        let old = MasterKey::generate();
        let keys = EvidenceKeys::new(&old, &[]);
        let sealed = keys.seal(PNG, "case-1", "ev-1").unwrap();
        assert!(!sealed.bytes.windows(PNG.len()).any(|w| w == PNG));
        assert_eq!(keys.open(&sealed, "case-1", "ev-1").unwrap(), PNG);
        assert_eq!(
            keys.open(&sealed, "case-1", "ev-2"),
            Err(SealError::Tampered)
        );
        assert_eq!(
            keys.open(&sealed, "case-2", "ev-1"),
            Err(SealError::Tampered)
        );
        let mut altered = sealed.clone();
        let last = altered.bytes.len() - 1;
        altered.bytes[last] ^= 1;
        assert_eq!(
            keys.open(&altered, "case-1", "ev-1"),
            Err(SealError::Tampered)
        );
        // Not the master key itself: a derived key.
        assert!(
            old.decrypt(&sealed.bytes, b"verity evidence case-1 ev-1")
                .is_err()
        );

        let new = MasterKey::generate();
        let rotated = EvidenceKeys::new(&new, std::slice::from_ref(&old));
        assert_eq!(rotated.open(&sealed, "case-1", "ev-1").unwrap(), PNG);
        let resealed = rotated.seal(PNG, "case-1", "ev-1").unwrap();
        assert_ne!(resealed.key_id, sealed.key_id);
        let forgotten = EvidenceKeys::new(&new, &[]);
        assert_eq!(
            forgotten.open(&sealed, "case-1", "ev-1"),
            Err(SealError::UnknownKey)
        );
        assert_eq!(forgotten.open(&resealed, "case-1", "ev-1").unwrap(), PNG);
    }
}
