import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The app is served by the Static Web Apps CLI (or Azure Static Web Apps), which also answers
// /api and /.auth: see README.md. The dev server is only used behind `swa start http://localhost:5173`.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    sourcemap: true,
    chunkSizeWarningLimit: 800,
  },
  server: { port: 5173, strictPort: true },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
