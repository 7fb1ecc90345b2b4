package dev.jrnn.opencl;

import static org.jocl.CL.*;

import dev.jrnn.spi.Availability;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;
import org.jocl.cl_program;

/**
 * An OpenCL device jrnn uses, chosen once per selector and process: by default the first GPU, else
 * the first CPU device, else any; a session's {@code Options.device(...)}, else {@code
 * -Djrnn.opencl.device=gpu|cpu|<part of the platform or device name>}, asks for one. Its context
 * and program (every kernel of this module, built once) live as long as the process: sessions share
 * them and own only their buffers, queues and kernel objects.
 */
final class ClDevice {

  /** The system property that forces a device. */
  static final String PROPERTY = "jrnn.opencl.device";

  /** The kernel sources, concatenated in this order (helpers first). */
  static final List<String> SOURCES =
      List.of("activations.cl", "sgemm.cl", "cells.cl", "ops.cl", "train.cl");

  private static final System.Logger LOG = System.getLogger("dev.jrnn");
  // selector -> a ClDevice, or the IllegalStateException saying why there is none
  private static final java.util.concurrent.ConcurrentHashMap<String, Object> CHOSEN =
      new java.util.concurrent.ConcurrentHashMap<>();

  final cl_platform_id platform;
  final cl_device_id device;
  final String platformName;
  final String deviceName;
  final boolean gpu;
  final int computeUnits;
  final long localMemory;
  final long maxWorkGroup;
  final long globalMemory;
  final long maxAllocation; // CL_DEVICE_MAX_MEM_ALLOC_SIZE: the largest single buffer
  final Set<String> extensions;
  final int tile; // TS of sgemmNtTiled
  final cl_context context;
  final cl_program program;

  private ClDevice(Candidate c) {
    platform = c.platform;
    device = c.device;
    platformName = c.platformName;
    deviceName = c.deviceName;
    gpu = (c.type & CL_DEVICE_TYPE_GPU) != 0;
    computeUnits = intInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS);
    localMemory = longInfo(device, CL_DEVICE_LOCAL_MEM_SIZE);
    maxWorkGroup = sizeInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE);
    globalMemory = longInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE);
    maxAllocation = longInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
    extensions = Set.of(stringInfo(device, CL_DEVICE_EXTENSIONS).trim().split("\\s+"));
    tile = maxWorkGroup >= 256 ? 16 : maxWorkGroup >= 64 ? 8 : 4;
    cl_context_properties props = new cl_context_properties();
    props.addProperty(CL_CONTEXT_PLATFORM, platform);
    context = clCreateContext(props, 1, new cl_device_id[] {device}, null, null, null);
    try {
      program = build(context, device, source(), "-cl-std=CL1.2 -DTS=" + tile);
    } catch (RuntimeException e) {
      clReleaseContext(context);
      throw e;
    }
  }

  /**
   * The default device ({@code -Djrnn.opencl.device} or the first GPU, else CPU): see {@link
   * #get(String)}.
   */
  static ClDevice get() {
    return get(System.getProperty(PROPERTY, ""));
  }

  /**
   * The device {@code selector} names ({@code gpu}, {@code cpu}, part of a platform or device name;
   * blank for the default), chosen and its program built on first use; throws saying why there is
   * none (listing the devices there are when none matches).
   */
  static ClDevice get(String selector) {
    Object c =
        CHOSEN.computeIfAbsent(
            selector.strip(),
            want -> {
              try {
                ClDevice d = new ClDevice(choose(want));
                LOG.log(System.Logger.Level.DEBUG, "jrnn: opencl uses " + d);
                return d;
              } catch (IllegalStateException e) {
                return e;
              } catch (LinkageError e) {
                return new IllegalStateException("the JOCL native library did not load: " + e, e);
              } catch (CLException e) {
                return new IllegalStateException("OpenCL failed while opening the device: " + e, e);
              }
            });
    if (c instanceof IllegalStateException e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
    return (ClDevice) c;
  }

  static Availability availability() {
    try {
      return Availability.yes(get().toString());
    } catch (IllegalStateException e) {
      return Availability.no(e.getMessage());
    }
  }

  @Override
  public String toString() {
    return deviceName
        + " ("
        + platformName
        + (gpu ? ", GPU" : ", CPU")
        + ", "
        + computeUnits
        + " compute units, "
        + localMemory / 1024
        + " KiB local memory, work-groups up to "
        + maxWorkGroup
        + ")";
  }

  record Candidate(
      cl_platform_id platform,
      cl_device_id device,
      String platformName,
      String deviceName,
      long type) {
    String describe() {
      return platformName + " / " + deviceName + ((type & CL_DEVICE_TYPE_GPU) != 0 ? " (GPU)" : "");
    }
  }

  /** Every device of every platform; throws when the ICD loader finds none. */
  static List<Candidate> candidates() {
    CL.setExceptionsEnabled(true);
    int[] count = new int[1];
    try {
      clGetPlatformIDs(0, null, count);
    } catch (CLException e) {
      throw new IllegalStateException(
          "no OpenCL platform: the ICD loader found none ("
              + e.getMessage()
              + "); install a driver, e.g. Debian's pocl-opencl-icd for CPUs",
          e);
    }
    cl_platform_id[] platforms = new cl_platform_id[count[0]];
    clGetPlatformIDs(platforms.length, platforms, null);
    List<Candidate> all = new ArrayList<>();
    for (cl_platform_id p : platforms) {
      String pName = platformString(p, CL_PLATFORM_NAME);
      int[] n = new int[1];
      try {
        clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, n);
      } catch (CLException e) {
        continue; // CL_DEVICE_NOT_FOUND: a platform without devices
      }
      cl_device_id[] devices = new cl_device_id[n[0]];
      clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, devices.length, devices, null);
      for (cl_device_id d : devices) {
        all.add(
            new Candidate(p, d, pName, stringInfo(d, CL_DEVICE_NAME), longInfo(d, CL_DEVICE_TYPE)));
      }
    }
    if (all.isEmpty()) {
      throw new IllegalStateException(
          "no OpenCL device: platforms "
              + platformNames(platforms)
              + " have none (for CPUs install Debian's pocl-opencl-icd)");
    }
    return all;
  }

  /** The device {@code want} names ({@code ""}: a GPU, else a CPU device, else the first). */
  static Candidate choose(String want) {
    return choose(candidates(), want);
  }

  static Candidate choose(List<Candidate> all, String want) {
    String w = want.trim().toLowerCase(Locale.ROOT);
    if (w.isEmpty() || w.equals("gpu") || w.equals("cpu")) {
      long first = w.equals("cpu") ? CL_DEVICE_TYPE_CPU : CL_DEVICE_TYPE_GPU;
      for (long type : new long[] {first, w.isEmpty() ? CL_DEVICE_TYPE_CPU : 0}) {
        for (Candidate c : all) {
          if ((c.type & type) != 0) {
            return c;
          }
        }
      }
      if (w.isEmpty()) {
        return all.get(0);
      }
    } else {
      for (Candidate c : all) {
        if ((c.platformName + " " + c.deviceName).toLowerCase(Locale.ROOT).contains(w)) {
          return c;
        }
      }
    }
    throw new IllegalStateException(
        "no OpenCL device matches '"
            + want
            + "' (Options.device or -D"
            + PROPERTY
            + ": gpu, cpu, or part of a platform or device name); devices: "
            + String.join(", ", all.stream().map(Candidate::describe).toList()));
  }

  /** Every platform and device with its key limits, one per line, for listings. */
  static List<String> describeAll() {
    List<String> lines = new ArrayList<>();
    for (Candidate c : candidates()) {
      lines.add(
          c.describe()
              + ": "
              + intInfo(c.device, CL_DEVICE_MAX_COMPUTE_UNITS)
              + " compute units, "
              + longInfo(c.device, CL_DEVICE_LOCAL_MEM_SIZE) / 1024
              + " KiB local memory, work-groups up to "
              + sizeInfo(c.device, CL_DEVICE_MAX_WORK_GROUP_SIZE)
              + ", "
              + longInfo(c.device, CL_DEVICE_GLOBAL_MEM_SIZE) / (1 << 20)
              + " MiB global memory");
    }
    return lines;
  }

  /** Builds {@code source} for {@code device}; a failure's message carries the build log. */
  static cl_program build(cl_context context, cl_device_id device, String source, String options) {
    cl_program p = clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
    try {
      clBuildProgram(p, 1, new cl_device_id[] {device}, options, null, null);
      return p;
    } catch (CLException e) {
      String log = buildLog(p, device);
      clReleaseProgram(p);
      throw new IllegalStateException(
          "the opencl kernels failed to build on "
              + stringInfo(device, CL_DEVICE_NAME)
              + " ("
              + e.getMessage()
              + "); build log:\n"
              + log,
          e);
    }
  }

  private static String buildLog(cl_program p, cl_device_id d) {
    long[] size = new long[1];
    clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, 0, null, size);
    byte[] b = new byte[(int) size[0]];
    clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, b.length, Pointer.to(b), null);
    return cString(b).trim();
  }

  static String source() {
    StringBuilder s = new StringBuilder();
    for (String name : SOURCES) {
      try (InputStream in = ClDevice.class.getResourceAsStream(name)) {
        if (in == null) {
          throw new IllegalStateException("kernel source " + name + " is missing from the jar");
        }
        s.append(new String(in.readAllBytes(), StandardCharsets.UTF_8)).append('\n');
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return s.toString();
  }

  private static String platformNames(cl_platform_id[] ps) {
    List<String> names = new ArrayList<>();
    for (cl_platform_id p : ps) {
      names.add(platformString(p, CL_PLATFORM_NAME));
    }
    return names.toString();
  }

  private static String platformString(cl_platform_id p, int param) {
    long[] size = new long[1];
    clGetPlatformInfo(p, param, 0, null, size);
    byte[] b = new byte[(int) size[0]];
    clGetPlatformInfo(p, param, b.length, Pointer.to(b), null);
    return cString(b);
  }

  static String stringInfo(cl_device_id d, int param) {
    long[] size = new long[1];
    clGetDeviceInfo(d, param, 0, null, size);
    byte[] b = new byte[(int) size[0]];
    clGetDeviceInfo(d, param, b.length, Pointer.to(b), null);
    return cString(b);
  }

  private static int intInfo(cl_device_id d, int param) {
    int[] v = new int[1];
    clGetDeviceInfo(d, param, Sizeof.cl_uint, Pointer.to(v), null);
    return v[0];
  }

  private static long longInfo(cl_device_id d, int param) {
    long[] v = new long[1];
    clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
    return v[0];
  }

  private static long sizeInfo(cl_device_id d, int param) {
    long[] v = new long[1];
    clGetDeviceInfo(d, param, Sizeof.size_t, Pointer.to(v), null);
    return v[0];
  }

  private static String cString(byte[] b) {
    int n = 0;
    while (n < b.length && b[n] != 0) {
      n++;
    }
    return new String(b, 0, n, StandardCharsets.UTF_8).trim();
  }
}
