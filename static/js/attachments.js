// Files before they are sealed (docs/incidents-api.md "Submit"): photos lose their hidden data
// (EXIF with GPS position, camera serial numbers, XMP, text chunks) by being decoded and drawn
// again on a canvas, then encoded to the same type; every other file is sealed as it is.
// Also: the media type from the file's first bytes, sizes in words, and saving a Blob.

const STRIPPED_TYPES = new Set(["image/jpeg", "image/png", "image/webp"]);
const JPEG_QUALITY = 0.92;
const EXTENSIONS = { "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp" };

/** The image type from the file's magic bytes, or null (the name's extension is not trusted). */
export async function sniffImageType(blob) {
  const head = new Uint8Array(await blob.slice(0, 12).arrayBuffer());
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) {
    return "image/jpeg";
  }
  if (head.length >= 8 && head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e
      && head[3] === 0x47 && head[4] === 0x0d && head[5] === 0x0a && head[6] === 0x1a
      && head[7] === 0x0a) {
    return "image/png";
  }
  const ascii = (from, to) => String.fromCharCode(...head.subarray(from, to));
  if (head.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image/webp";
  return null;
}

export class StripError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "StripError";
  }
}

async function encode(bitmap, type) {
  const options = type === "image/jpeg" ? { type, quality: JPEG_QUALITY } : { type };
  if (typeof OffscreenCanvas === "function") {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext("2d");
    if (!context) throw new StripError("no 2D canvas");
    context.drawImage(bitmap, 0, 0);
    return canvas.convertToBlob(options);
  }
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d");
  if (!context) throw new StripError("no 2D canvas");
  context.drawImage(bitmap, 0, 0);
  const blob = await new Promise((resolve) => {
    canvas.toBlob(resolve, type, options.quality);
  });
  canvas.width = 0;
  canvas.height = 0;
  if (!blob) throw new StripError("the canvas could not encode the image");
  return blob;
}

/**
 * The bytes to seal for `file`: {bytes, type, name, stripped}. JPEG, PNG and WebP (recognised by
 * their first bytes) are re-encoded through a canvas, which keeps only the pixels (turned
 * upright by their EXIF orientation first). A photo that cannot be decoded is refused with a
 * StripError rather than sealed with its location inside. Other files come back unchanged.
 */
export async function prepareFile(file) {
  const sniffed = await sniffImageType(file);
  if (!sniffed && STRIPPED_TYPES.has(file.type)) {
    // Named as a photo but not one inside: it may still carry a location, so it is refused.
    throw new StripError("the file says it is a photo, but its contents are not");
  }
  const type = sniffed ?? (file.type || "application/octet-stream");
  if (!sniffed) {
    return { bytes: new Uint8Array(await file.arrayBuffer()), type, name: file.name,
      stripped: false };
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch (error) {
    throw new StripError("the image could not be decoded", { cause: error });
  }
  let blob;
  try {
    blob = await encode(bitmap, sniffed);
  } catch (error) {
    throw error instanceof StripError ? error
      : new StripError("the image could not be encoded again", { cause: error });
  } finally {
    bitmap.close?.();
  }
  // A browser that cannot write this type (WebP in some browsers) hands back PNG instead:
  // still clean, but then the name and the type must say PNG.
  const outType = blob.type || sniffed;
  let name = file.name || `photo.${EXTENSIONS[outType] ?? "bin"}`;
  if (outType !== sniffed && EXTENSIONS[outType]) {
    name = `${name.replace(/\.[A-Za-z0-9]{1,5}$/, "")}.${EXTENSIONS[outType]}`;
  }
  return { bytes: new Uint8Array(await blob.arrayBuffer()), type: outType, name, stripped: true };
}

/** A size in bytes for people: "820 bytes", "1.4 MB". */
export function formatBytes(n, locale = document.documentElement.lang || undefined) {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"];
  let value = n;
  let unit = 0;
  // Powers of 1024, as most file managers count (20 MiB shows as "20 MB").
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  try {
    return new Intl.NumberFormat(locale, {
      style: "unit", unit: units[unit], unitDisplay: unit === 0 ? "long" : "short",
      maximumFractionDigits: unit === 0 ? 0 : 1,
    }).format(value);
  } catch {
    return `${Math.round(value * 10) / 10} ${["bytes", "kB", "MB", "GB"][unit]}`;
  }
}

/** Offer `bytes` as a download named `name` (the file never touches the server in clear). */
export function saveBlob(bytes, name, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type: type || "application/octet-stream" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name || "attachment";
  link.rel = "noopener";
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // Long enough for the download to start; the URL is then useless.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export const previewable = (type) => ["image/jpeg", "image/png", "image/webp", "image/gif"]
  .includes(type);
