// Row decoders for the BMP pixel formats. bmp.ts validates the headers and the file length
// first, so every read here is inside the file.

/** Red, green and blue bit masks of a 16- or 32-bit pixel read as a little-endian integer. */
export interface ChannelMasks {
  red: number;
  green: number;
  blue: number;
}

/** Masks that a BI_RGB file implies: 5-5-5 for 16-bit, BGRX bytes for 32-bit. */
export const DEFAULT_MASKS_16: ChannelMasks = { red: 0x7c00, green: 0x03e0, blue: 0x001f };
export const DEFAULT_MASKS_32: ChannelMasks = {
  red: 0x00ff0000,
  green: 0x0000ff00,
  blue: 0x000000ff,
};

/** Location and format of the color table of a 1-, 4- or 8-bit image. */
export interface ColorTable {
  offset: number;
  /** 4 bytes (BGR0, RGBQUAD) per entry after an info header, 3 (BGR) after a core header. */
  entrySize: 3 | 4;
  count: number;
}

/** Position of the pixel rows and the storage format of each pixel. */
export interface PixelLayout {
  width: number;
  height: number;
  topDown: boolean;
  bitsPerPixel: number;
  pixelOffset: number;
  /** Bytes per stored row, including the padding to a multiple of 4. */
  rowStride: number;
  /** Present for 1-, 4- and 8-bit images. */
  colorTable: ColorTable | undefined;
  /** Present for 16- and 32-bit images. */
  masks: ChannelMasks | undefined;
}

/** Decodes the pixel rows to RGB, top row first, into a newly allocated array. */
export function decodePixels(bytes: Uint8Array, layout: PixelLayout): Uint8Array {
  const data = new Uint8Array(layout.width * layout.height * 3);
  const masks = layout.masks ?? DEFAULT_MASKS_32;

  if (layout.colorTable !== undefined) {
    decodeIndexed(bytes, layout, readColorTable(bytes, layout.colorTable), data);
  } else if (layout.bitsPerPixel === 24) {
    decodeBgr(bytes, layout, 3, data);
  } else if (layout.bitsPerPixel === 32 && sameMasks(masks, DEFAULT_MASKS_32)) {
    decodeBgr(bytes, layout, 4, data);
  } else {
    decodeBitfields(bytes, layout, masks, data);
  }
  return data;
}

/**
 * Returns the color table as 256 RGB triples. Entries past its end stay black, which is
 * what a pixel index beyond the table decodes to.
 */
function readColorTable(bytes: Uint8Array, table: ColorTable): Uint8Array {
  const rgb = new Uint8Array(256 * 3);
  for (let i = 0; i < table.count; i++) {
    const entry = table.offset + i * table.entrySize;
    rgb[i * 3] = bytes[entry + 2];
    rgb[i * 3 + 1] = bytes[entry + 1];
    rgb[i * 3 + 2] = bytes[entry];
  }
  return rgb;
}

/** Returns the file offset of output row `y`, counted from the top of the image. */
function rowOffset(layout: PixelLayout, y: number): number {
  const storedRow = layout.topDown ? y : layout.height - 1 - y;
  return layout.pixelOffset + storedRow * layout.rowStride;
}

function decodeIndexed(
  bytes: Uint8Array,
  layout: PixelLayout,
  palette: Uint8Array,
  out: Uint8Array,
): void {
  const bits = layout.bitsPerPixel;
  const indexMask = (1 << bits) - 1;
  let target = 0;
  for (let y = 0; y < layout.height; y++) {
    const row = rowOffset(layout, y);
    for (let x = 0; x < layout.width; x++) {
      // The leftmost pixel is in the most significant bits of each byte.
      const bitOffset = x * bits;
      const shift = 8 - bits - (bitOffset & 7);
      const entry = ((bytes[row + (bitOffset >> 3)] >> shift) & indexMask) * 3;
      out[target++] = palette[entry];
      out[target++] = palette[entry + 1];
      out[target++] = palette[entry + 2];
    }
  }
}

/** Decodes BGR (24-bit) or BGRX/BGRA (32-bit, the 4th byte ignored) rows. */
function decodeBgr(
  bytes: Uint8Array,
  layout: PixelLayout,
  bytesPerPixel: 3 | 4,
  out: Uint8Array,
): void {
  let target = 0;
  for (let y = 0; y < layout.height; y++) {
    let source = rowOffset(layout, y);
    for (let x = 0; x < layout.width; x++) {
      out[target++] = bytes[source + 2];
      out[target++] = bytes[source + 1];
      out[target++] = bytes[source];
      source += bytesPerPixel;
    }
  }
}

function decodeBitfields(
  bytes: Uint8Array,
  layout: PixelLayout,
  masks: ChannelMasks,
  out: Uint8Array,
): void {
  const is16 = layout.bitsPerPixel === 16;
  const red = makeChannelScaler(masks.red);
  const green = makeChannelScaler(masks.green);
  const blue = makeChannelScaler(masks.blue);

  let target = 0;
  for (let y = 0; y < layout.height; y++) {
    let source = rowOffset(layout, y);
    for (let x = 0; x < layout.width; x++) {
      const pixel = is16
        ? bytes[source] | (bytes[source + 1] << 8)
        : bytes[source] |
          (bytes[source + 1] << 8) |
          (bytes[source + 2] << 16) |
          (bytes[source + 3] << 24);
      source += is16 ? 2 : 4;
      // `>>>` reads the masked value as unsigned, so a mask that uses bit 31 works too.
      out[target++] = red.table[((pixel & red.mask) >>> red.shift) >>> red.drop];
      out[target++] = green.table[((pixel & green.mask) >>> green.shift) >>> green.drop];
      out[target++] = blue.table[((pixel & blue.mask) >>> blue.shift) >>> blue.drop];
    }
  }
}

/**
 * Lookup for one channel mask: the field is shifted down, its bits past the top 8 are
 * dropped, and `table` scales the rest to 0..255 with rounding (a 5-bit 31 becomes 255).
 */
interface ChannelScaler {
  mask: number;
  shift: number;
  drop: number;
  table: Uint8Array;
}

/** Builds the lookup for a mask that bmp.ts has checked to be one run of bits (or zero). */
function makeChannelScaler(mask: number): ChannelScaler {
  if (mask === 0) {
    return { mask: 0, shift: 0, drop: 0, table: new Uint8Array(1) };
  }

  const shift = 31 - Math.clz32(mask & -mask);
  const bits = 32 - Math.clz32(mask >>> shift);
  const kept = Math.min(bits, 8);
  const maxValue = 2 ** kept - 1;
  const table = new Uint8Array(maxValue + 1);
  for (let value = 0; value <= maxValue; value++) {
    table[value] = Math.round((value * 255) / maxValue);
  }
  return { mask, shift, drop: bits - kept, table };
}

function sameMasks(masks: ChannelMasks, expected: ChannelMasks): boolean {
  return (
    masks.red === expected.red && masks.green === expected.green && masks.blue === expected.blue
  );
}
