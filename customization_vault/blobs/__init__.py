"""Blob stores for ciphertext objects: a local directory or a versioned S3 bucket."""

from customization_vault.blobs.base import BlobStore, blob_key, order_prefix
from customization_vault.blobs.local import LocalBlobStore
from customization_vault.blobs.s3 import S3BlobStore

__all__ = ["BlobStore", "LocalBlobStore", "S3BlobStore", "blob_key", "order_prefix"]
