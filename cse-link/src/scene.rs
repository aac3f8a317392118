//! A synthetic RAW12 scene as CSI-2 packets.

use cse_core::csi2::{DataType, Emitter, HeaderForm, VirtualChannel};

use crate::LinkError;

/// Frame geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scene {
    /// Pixels per line.
    pub width: usize,
    /// Pixel lines per frame.
    pub height: usize,
    /// Embedded-data lines before and after the image.
    pub embedded_lines: usize,
    /// The virtual channel.
    pub vc: VirtualChannel,
}

impl Scene {
    /// `width` x `height` RAW12 with two embedded-data lines above and below.
    pub fn new(width: usize, height: usize, vc: VirtualChannel) -> Self {
        Scene {
            width,
            height,
            embedded_lines: 2,
            vc,
        }
    }

    /// Bytes of one RAW12 line (two pixels in three bytes).
    pub fn line_bytes(&self) -> usize {
        self.width * 3 / 2
    }

    /// Payload bytes of one frame (pixel and embedded lines).
    pub fn payload_bytes(&self) -> usize {
        self.line_bytes() * self.height + 2 * self.embedded_lines * self.embedded_len()
    }

    fn embedded_len(&self) -> usize {
        (self.line_bytes() / 2).min(256)
    }

    /// The original packets of frame `n` (FS, embedded lines, pixel lines, embedded lines, FE),
    /// concatenated, D-PHY headers. The picture is a moving gradient.
    ///
    /// # Errors
    /// [`LinkError::Framing`] for a line longer than a CSI-2 word count.
    pub fn frame(&self, n: u16) -> Result<Vec<u8>, LinkError> {
        let lb = self.line_bytes();
        let total =
            8 + (self.height) * (lb + 6) + 2 * self.embedded_lines * (self.embedded_len() + 6);
        let mut buf = vec![0u8; total];
        let mut line = vec![0u8; lb];
        let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
        em.frame_start(self.vc, n)?;
        let emb: Vec<u8> = (0..self.embedded_len()).map(|i| i as u8).collect();
        for _ in 0..self.embedded_lines {
            em.long(self.vc, DataType::EMBEDDED, &emb)?;
        }
        for y in 0..self.height {
            for (x, px) in line.chunks_exact_mut(3).enumerate() {
                // Two 12-bit pixels: a diagonal gradient that moves with the frame number.
                let a = ((2 * x + y + usize::from(n) * 8) & 0xFFF) as u16;
                let b = ((2 * x + 1 + y + usize::from(n) * 8) & 0xFFF) as u16;
                px[0] = (a >> 4) as u8;
                px[1] = (b >> 4) as u8;
                px[2] = ((a & 0xF) | ((b & 0xF) << 4)) as u8;
            }
            em.long(self.vc, DataType::RAW12, &line)?;
        }
        for _ in 0..self.embedded_lines {
            em.long(self.vc, DataType::EMBEDDED, &emb)?;
        }
        em.frame_end(self.vc, n)?;
        let len = em.len();
        buf.truncate(len);
        Ok(buf)
    }
}
