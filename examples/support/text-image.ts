/** A line of black text on a white background, as PNG bytes: what the examples read when given no photo. */
import sharp from "sharp";

export async function renderText(text: string, options: { dpi?: number; margin?: number } = {}): Promise<Buffer> {
  const margin = options.margin ?? 24;
  // sharp renders text as a grey mask (glyphs white on black): negated, it is a printed line,
  // which is then laid on a white page with a margin (a detector needs some background around text).
  const glyphs = await sharp({ text: { text, dpi: options.dpi ?? 300, font: "sans" } }).negate({ alpha: false }).toColourspace("srgb").png().toBuffer();
  const { width, height } = await sharp(glyphs).metadata();
  return sharp({ create: { width: width! + 2 * margin, height: height! + 2 * margin, channels: 3, background: "#ffffff" } })
    .composite([{ input: glyphs, left: margin, top: margin }])
    .png()
    .toBuffer();
}
